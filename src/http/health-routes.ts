import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { bundledMigrations, migrationsApplied } from '../store/migrate.js';
import { missingPrivileges } from '../store/required-privileges.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';
import { AppError } from './problem.js';
import { errorResponses } from './route-helpers.js';

const tags = ['operations'];
const Status = Type.Object({ status: Type.String() });
// A role that had every privilege a moment ago almost surely still has it: probes every few
// seconds then cost nothing. Revoking a grant shows within this long; a missing one, at once.
const PRIVILEGES_OK_CACHE_MS = 30_000;

/** Liveness, readiness and metrics: unauthenticated, for orchestrators and scrapers. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ store: Store; metrics: Metrics; metricsOnPublicPort: boolean }> = async (app, { store, metrics, metricsOnPublicPort }) => {
  // Read once: probes run every few seconds and the shipped migrations never change at run time.
  const migrations = bundledMigrations();
  let privilegesOkUntil = 0;
  app.get('/healthz', { schema: { operationId: 'healthz', tags, summary: 'Liveness: the process answers', response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    schema: {
      operationId: 'readyz',
      tags,
      summary: 'Readiness: the store answers, migrations are applied and dab\'s store role has the privileges serving needs',
      response: { 200: Status, ...errorResponses(503) },
    },
  }, async function readyz() {
    let ready = false;
    let missing: string[] = [];
    try {
      ready = await migrationsApplied(store, migrations);
      if (ready && Date.now() >= privilegesOkUntil) {
        missing = await missingPrivileges(store);
        if (!missing.length) privilegesOkUntil = Date.now() + PRIVILEGES_OK_CACHE_MS;
      }
    } catch {
      throw new AppError('not_ready', 'the store is unreachable', { retryAfterSeconds: 5 });
    }
    if (!ready) throw new AppError('not_ready', 'database migrations are not applied; run dab migrate or start dab serve', { retryAfterSeconds: 5 });
    // Serving would answer 500 on the first grant or registration: say so before traffic arrives.
    if (missing.length) {
      throw new AppError('not_ready', `dab's store role lacks privileges serving needs: ${missing.join(', ')}; see deploy/postgres/dab-store-grants.sql`, { retryAfterSeconds: 5 });
    }
    return { status: 'ready' };
  });

  // Off here when metrics.onPublicPort is false: then only the metrics listener serves it.
  if (!metricsOnPublicPort) return;
  app.get('/metrics', {
    schema: { operationId: 'metrics', tags, summary: 'Prometheus metrics (unless metrics.onPublicPort is false: then on metrics.port only)', produces: ['text/plain'], response: { 200: Type.String() } },
  }, async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));
};
