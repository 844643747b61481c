import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { DatabaseName, type Database } from '../databases/database-schema.js';
import { findDatabase } from '../databases/databases-repo.js';
import { AppError } from '../http/problem.js';
import { requestContext } from '../http/request-context.js';
import { errorResponses } from '../http/route-helpers.js';
import { bootstrapArtifacts } from './bootstrap-artifacts.js';
import { BootstrapQuery, BootstrapResponse, CheckBody, CheckResponse } from './bootstrap-schema.js';
import { createPreflightCheck, type PreflightDeps } from './preflight-check.js';
import { identifierProblem } from './sql-quote.js';

/** The check's dependencies are all the routes need (store, uncached AssumeRole, signer, config, clock, login probe). */
export type BootstrapRoutesOptions = PreflightDeps;

const tags = ['databases'];
const security = [{ bearer: [] }];

/** The schemas asked for; undefined leaves the default to the engine (public, or MySQL's registered database). */
function schemasOf(query: BootstrapQuery): string[] | undefined {
  if (query.schema === undefined) return undefined;
  const given = Array.isArray(query.schema) ? query.schema : [query.schema];
  const errors = given.flatMap((name, i) => {
    const problem = identifierProblem(name);
    return problem ? [{ field: `querystring.schema${Array.isArray(query.schema) ? `.${i}` : ''}`, message: problem }] : [];
  });
  if (errors.length) throw new AppError('validation_failed', `querystring.schema ${errors[0]!.message}`, { errors });
  return [...new Set(given)];
}

/** DBA (admin tier): artifacts to prepare a registered database, and a preflight check of it. */
export const bootstrapRoutes: FastifyPluginAsyncTypebox<BootstrapRoutesOptions> = async (app, opts) => {
  const check = createPreflightCheck({
    store: opts.store,
    assumeRole: opts.assumeRole,
    signToken: opts.signToken,
    config: opts.config,
    now: opts.now,
    ...(opts.login ? { login: opts.login } : {}),
    ...(opts.loginTimeoutMs ? { loginTimeoutMs: opts.loginTimeoutMs } : {}),
  });

  async function registered(name: string): Promise<Database> {
    const db = await findDatabase(opts.store, name);
    if (!db) throw new AppError('not_found', `no database named "${name}"`);
    return db;
  }

  app.get('/v1/databases/:name/bootstrap', {
    schema: {
      operationId: 'getDatabaseBootstrap',
      tags,
      security,
      summary: "What a DBA needs to prepare a database: idempotent SQL (group roles, login users, rds_iam) and each target role's trust and permission policies",
      params: DatabaseName,
      querystring: BootstrapQuery,
      response: { 200: BootstrapResponse, ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const schemas = schemasOf(request.query);
    const db = await registered(request.params.name);
    return bootstrapArtifacts(db, schemas, { brokerRoleArn: opts.config.sts.brokerRoleArn, setSourceIdentity: opts.config.sts.setSourceIdentity });
  });

  app.post('/v1/databases/:name/check', {
    schema: {
      operationId: 'checkDatabase',
      tags,
      security,
      summary: 'Preflight check: per level, AssumeRole (as a grant would), mint a token and log in with it; 200 with each step\'s outcome, audited',
      params: DatabaseName,
      body: CheckBody,
      response: { 200: CheckResponse, ...errorResponses(400, 401, 403, 404, 503) },
    },
    // Every field is optional, so an empty POST is a check with the defaults rather than a 400.
    preValidation: async (request) => {
      if (request.body === undefined) request.body = {};
    },
  }, async (request) => {
    const db = await registered(request.params.name);
    return check.run(db, callerOf(request), requestContext(request), { login: request.body.login !== false });
  });
};
