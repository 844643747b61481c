import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { bundledMigrations, migrationsApplied } from '../store/migrate.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';
import { AppError } from './problem.js';
import { errorResponses } from './route-helpers.js';

const tags = ['operations'];
const Status = Type.Object({ status: Type.String() });

/** Liveness, readiness and metrics: unauthenticated, for orchestrators and scrapers. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ store: Store; metrics: Metrics }> = async (app, { store, metrics }) => {
  // Read once: probes run every few seconds and the shipped migrations never change at run time.
  const migrations = bundledMigrations();
  app.get('/healthz', { schema: { operationId: 'healthz', tags, summary: 'Liveness: the process answers', response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    schema: { operationId: 'readyz', tags, summary: 'Readiness: the store answers and migrations are applied', response: { 200: Status, ...errorResponses(503) } },
  }, async () => {
    let ready = false;
    try {
      ready = await migrationsApplied(store, migrations);
    } catch {
      throw new AppError('not_ready', 'the store is unreachable', { retryAfterSeconds: 5 });
    }
    if (!ready) throw new AppError('not_ready', 'database migrations are not applied; run dab migrate or start dab serve', { retryAfterSeconds: 5 });
    return { status: 'ready' };
  });

  app.get('/metrics', {
    schema: { operationId: 'metrics', tags, summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: Type.String() } },
  }, async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));
};
