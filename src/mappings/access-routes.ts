import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { AWS_ISSUER, callerForAwsArn } from '../auth/aws-principal.js';
import type { Caller } from '../auth/caller.js';
import { errorResponses } from '../http/route-helpers.js';
import type { AccessModelCache } from './access-model-cache.js';
import { ExplainRequest, Explanation, MyAccess } from './access-schema.js';
import { effectiveAccess, explainAccess } from './decide-access.js';

interface AccessRoutesOptions {
  access: AccessModelCache;
  now: () => Date;
}

const tags = ['access'];
const security = [{ bearer: [] }];

/** DBA (admin tier): why would this principal be allowed or refused? Same logic as the grant path. */
export const accessRoutes: FastifyPluginAsyncTypebox<AccessRoutesOptions> = async (app, { access, now }) => {
  app.post('/v1/access/explain', {
    schema: { operationId: 'explainAccess', tags, security, summary: 'Explain the decision for a principal, database and level', body: ExplainRequest, response: { 200: Explanation, ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { principal, database, access: level, reason, at } = request.body;
    const when = at ? new Date(at) : now();
    // An AWS caller is named by its role or user ARN (issuer "aws"); its account follows from it.
    const caller: Caller = principal.issuer === AWS_ISSUER
      ? callerForAwsArn(principal.subject)
      : { issuer: principal.issuer, subject: principal.subject, groups: principal.groups ?? [], claims: principal.claims ?? {} };
    const model = await access.current();
    const { decision, considered } = explainAccess({ caller, level, database, reason, model, now: when });
    const rule = decision.rule ? considered.find((c) => c.mapping.id === decision.rule)?.mapping : undefined;
    return {
      at: when.toISOString(),
      allowed: decision.allowed,
      reason: decision.allowed ? 'mapping_allows' : decision.reason,
      rule: rule ? { id: rule.id, name: rule.name } : null,
      ...(decision.allowed ? { dbUser: decision.dbUser, roleArn: decision.roleArn } : {}),
      considered: considered.map(({ mapping: { version: _v, createdAt: _c, updatedAt: _u, ...m }, verdict }) => ({ ...m, verdict })),
    };
  });
};

/** Any caller: what can I get right now? */
export const myAccessRoutes: FastifyPluginAsyncTypebox<AccessRoutesOptions> = async (app, { access, now }) => {
  app.get('/v1/access/mine', {
    schema: { operationId: 'myAccess', tags, security, summary: 'What the calling principal can get now, and through which mapping', response: { 200: MyAccess, ...errorResponses(401) } },
  }, async (request) => {
    const at = now();
    return { at: at.toISOString(), items: effectiveAccess(await access.current(), callerOf(request), at) };
  });
};
