import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config-schema.js';
import type { Metrics } from '../http/metrics.js';
import type { Store } from '../store/store.js';
import { createAuditWriter, type AuditWriter } from './audit-writer.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The grant path's group-commit writer (`queued` tells tests and tooling what is waiting). */
    auditWriter: AuditWriter;
  }
}

/**
 * The group-commit writer for the grant path, tied to the app's lifecycle: on close it writes what
 * is queued and waits for every flush (so no caller is left waiting on a store about to close).
 */
export function setupAuditWriter(app: FastifyInstance, config: Config['audit'], store: Store, metrics: Metrics, macKey: Buffer): AuditWriter {
  const writer = createAuditWriter({
    store,
    macKey,
    maxBatchRows: config.maxBatchRows,
    // The embedded store has one connection: a second INSERT in flight would only wait behind the first.
    maxConcurrentFlushes: store.kind === 'embedded' ? 1 : config.maxConcurrentFlushes,
    onFlush: ({ rows, seconds, ok }) => {
      const result = ok ? 'ok' : 'error';
      metrics.auditBatchRows.observe({ result }, rows);
      metrics.auditFlush.observe({ result }, seconds);
    },
  });
  app.decorate('auditWriter', writer);
  app.addHook('onClose', async () => writer.close());
  return writer;
}
