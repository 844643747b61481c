import type { FastifyBaseLogger } from 'fastify';
import { uuidV7 } from '../audit/uuid-v7.js';
import type { Store } from '../store/store.js';

export interface ReplicaHeartbeatOptions {
  store: Store;
  intervalSeconds: number;
  /** A replica not seen for this long no longer counts (it died without saying goodbye). */
  ttlSeconds: number;
  onCount: (live: number) => void;
  log: FastifyBaseLogger;
}

// Rows of replicas gone for good are deleted by whoever beats next; an hour keeps recent history
// readable for an operator without letting the table grow.
const FORGET_AFTER_SECONDS = 3600;

/**
 * Each replica upserts its row in dab_replicas every intervalSeconds and counts the others seen
 * within ttlSeconds, in one statement, timed by the store's clock (so replicas' clocks may differ).
 * That count sizes each replica's share of the mint budget. Off the grant path entirely: a failed
 * beat keeps the last count and is retried at the next interval. close() deletes the row, so a
 * replica stopped with SIGTERM hands its share back at once; one killed is forgotten after ttlSeconds.
 */
export function createReplicaHeartbeat(opts: ReplicaHeartbeatOptions) {
  const replicaId = uuidV7();
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;
  let closed = false;
  let started = false;

  async function beatOnce(): Promise<void> {
    const { rows } = await opts.store.query<{ others: number }>(
      `WITH beat AS (
         INSERT INTO dab_replicas (replica_id, started_at, seen_at) VALUES ($1, now(), now())
         ON CONFLICT (replica_id) DO UPDATE SET seen_at = now()
         RETURNING 1
       ), forgotten AS (
         DELETE FROM dab_replicas WHERE seen_at < now() - make_interval(secs => $3) RETURNING 1
       )
       SELECT count(*)::int AS others FROM dab_replicas
        WHERE replica_id <> $1 AND seen_at > now() - make_interval(secs => $2)`,
      [replicaId, opts.ttlSeconds, FORGET_AFTER_SECONDS],
      { preparedName: 'dab_replica_heartbeat' },
    );
    opts.onCount(1 + Number(rows[0]?.others ?? 0));
  }

  const beat = (): Promise<void> => {
    beating ??= beatOnce()
      .catch((err: unknown) => opts.log.warn({ err }, 'replica heartbeat failed; the mint budget share keeps its last replica count'))
      .finally(() => {
        beating = undefined;
      });
    return beating;
  };

  return {
    replicaId,
    /** The first beat is awaited, so the share is right before the first grant. */
    async start(): Promise<void> {
      started = true;
      await beat();
      if (closed) return;
      timer = setInterval(() => void beat(), opts.intervalSeconds * 1000);
      timer.unref();
    },
    async close(): Promise<void> {
      closed = true;
      if (timer) clearInterval(timer);
      await beating;
      if (!started) return;
      // Best effort: a row left behind stops counting after ttlSeconds anyway.
      await Promise.resolve()
        .then(() => opts.store.query('DELETE FROM dab_replicas WHERE replica_id = $1', [replicaId]))
        .catch(() => undefined);
    },
  };
}
