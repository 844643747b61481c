import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config-schema.js';
import type { Metrics } from '../http/metrics.js';
import type { Store } from '../store/store.js';
import { createMintBudget, type MintBudget } from './mint-budget.js';
import { createReplicaHeartbeat } from './replica-heartbeat.js';

/** The mint budget and the heartbeat that sizes this replica's share; started on ready, stopped on close. */
export function setupMintBudget(app: FastifyInstance, config: Config['mintBudget'], store: Store, metrics: Metrics): MintBudget {
  const budget = createMintBudget(config, metrics);
  if (!config.enabled) return budget;
  const heartbeat = createReplicaHeartbeat({
    store,
    intervalSeconds: config.heartbeatSeconds,
    ttlSeconds: config.replicaTtlSeconds,
    onCount: (live) => budget.setReplicas(live),
    log: app.log,
  });
  app.addHook('onReady', () => heartbeat.start());
  app.addHook('onClose', () => heartbeat.close());
  return budget;
}
