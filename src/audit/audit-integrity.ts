import type { KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config-schema.js';
import type { Store } from '../store/store.js';
import { createCheckpointer, type Checkpointer } from './audit-checkpoints.js';
import { createAuditSealer, type AuditSealer } from './audit-sealer.js';
import { loadCheckpointKey } from './checkpoint-signer.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The tamper-evidence sealer: `sealNow()` seals everything final, for tests and tooling. */
    auditSealer: AuditSealer;
  }
}

export interface AuditIntegrity {
  sealer: AuditSealer;
  checkpoints: Checkpointer;
  /** Public half of audit.checkpointKeyFile, when configured. */
  publicKey: KeyObject | undefined;
}

/**
 * Wires sealing and checkpoints into the app's lifecycle: the background sealer starts once the app
 * is ready (never during buildApp, which must not touch the store) and is stopped, with any round
 * in progress awaited, when the app closes — so no timer or query outlives it.
 * A bad checkpoint key or file stops start-up here, naming the setting.
 */
export function setupAuditIntegrity(app: FastifyInstance, config: Config['audit'], store: Store, now: () => Date): AuditIntegrity {
  const log = app.log.child({ component: 'audit-integrity' });
  const key = config.checkpointKeyFile ? loadCheckpointKey(config.checkpointKeyFile) : undefined;
  const checkpoints = createCheckpointer({
    store,
    key,
    file: config.checkpointFile,
    intervalMs: config.checkpointIntervalSeconds * 1000,
    now,
    log,
  });
  const sealer = createAuditSealer({
    store,
    now,
    batchSize: config.sealBatchSize,
    intervalMs: config.sealIntervalSeconds * 1000,
    log,
    onSealed: (head) => checkpoints.afterSealing(head),
  });
  app.decorate('auditSealer', sealer);
  app.addHook('onReady', async () => sealer.start());
  app.addHook('onClose', async () => sealer.stop());
  return { sealer, checkpoints, publicKey: key?.publicKey };
}
