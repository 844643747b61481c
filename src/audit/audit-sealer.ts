import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/store.js';
import { canonicalTimestamp, computeSealHash, GENESIS_HASH, gapsOf, rowsDigest, SEAL_FORMAT } from './audit-canonical.js';
import { settledFence, takeFence, type Fence } from './seal-fence.js';
import { insertSeal, readRowHashes, sealHead, type Seal } from './seal-repo.js';

export interface AuditSealerDeps {
  store: Store;
  now: () => Date;
  /** Most rows per seal (and so per sealing transaction). */
  batchSize: number;
  /** Background rounds every this many ms; 0 runs none (then only sealNow seals). */
  intervalMs: number;
  log: { warn(obj: object, msg: string): void };
  /** Called after a round that added seals, with the new head (checkpoints hang off this). */
  onSealed?: (head: Seal) => Promise<void>;
}

export interface SealRound {
  seals: number;
  events: number;
  head: Seal | undefined;
}

export type AuditSealer = ReturnType<typeof createAuditSealer>;

// Only one sealer writes at a time across every instance sharing the store: each sealing
// transaction takes this transaction-level advisory lock first, then re-reads the head.
const SEAL_LOCK_KEY = 4_732_003;
// Fences kept while waiting for their writers to end; when full the newest is replaced (older
// fences settle first, and a newer one is taken every round anyway).
const MAX_PENDING_FENCES = 32;
// Most seals one round writes, so a large backlog never hogs a connection for long.
const MAX_SEALS_PER_ROUND = 100;

/**
 * The background sealer: every round it takes a fence (seal-fence.ts), and seals the rows up to the
 * highest fence whose writers have ended, in batches of `batchSize`, each batch a seal chained to
 * the previous one. Grant inserts never wait for it: it only reads rows and appends to audit_seals.
 */
export function createAuditSealer(deps: AuditSealerDeps) {
  const { store, now, batchSize, intervalMs, log } = deps;
  const pending: Fence[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** Writes one seal over the next batch of rows with ids <= upTo; undefined when none are left. */
  async function sealNextBatch(upTo: number): Promise<Seal | undefined> {
    return store.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SEAL_LOCK_KEY]);
      const head = await sealHead(tx);
      const firstId = (head?.lastId ?? 0) + 1;
      if (firstId > upTo) return undefined;
      const ids: number[] = [];
      const hashes: Buffer[] = [];
      for await (const row of readRowHashes(tx, firstId, upTo, batchSize)) {
        ids.push(row.id);
        hashes.push(row.hash);
        if (ids.length === batchSize) break;
      }
      if (!ids.length) return undefined;
      // The seal ends at its last row: trailing never-committed ids become gaps of the next seal.
      const lastId = ids[ids.length - 1] as number;
      const rowHashes = Buffer.concat(hashes);
      const header = {
        seq: (head?.seq ?? 0) + 1,
        format: SEAL_FORMAT,
        firstId,
        lastId,
        rowCount: ids.length,
        gaps: gapsOf(firstId, lastId, ids),
        rowsDigest: rowsDigest(rowHashes),
        prevSealHash: head?.sealHash ?? GENESIS_HASH,
        sealedAt: canonicalTimestamp(now()),
      };
      const seal = { ...header, sealHash: computeSealHash(header), rowHashes };
      await insertSeal(tx, seal);
      return seal;
    });
  }

  async function round(waitMs: number): Promise<SealRound> {
    const fence = await takeFence(store);
    if (pending.length >= MAX_PENDING_FENCES) pending.pop();
    pending.push(fence);
    let settled = await settledFence(store, pending);
    // sealNow waits (bounded) for the writers it just saw; background rounds never wait.
    const deadline = Date.now() + waitMs;
    while ((settled?.lastId ?? -1) < fence.lastId && Date.now() < deadline) {
      await sleep(20);
      settled = await settledFence(store, pending);
    }
    const result: SealRound = { seals: 0, events: 0, head: undefined };
    if (!settled) return result;
    const upTo = settled.lastId;
    let caughtUp = false;
    while (result.seals < MAX_SEALS_PER_ROUND) {
      const seal = await sealNextBatch(upTo);
      if (seal) {
        result.seals += 1;
        result.events += seal.rowCount;
        result.head = seal;
      }
      if (!seal || seal.lastId >= upTo) {
        caughtUp = true;
        break;
      }
    }
    // A fence is spent once everything up to it is sealed; a capped round keeps it for the next.
    if (caughtUp) for (let i = pending.length - 1; i >= 0; i--) if ((pending[i] as Fence).lastId <= upTo) pending.splice(i, 1);
    if (result.head && deps.onSealed) {
      try {
        await deps.onSealed(result.head);
      } catch (err) {
        log.warn({ err: { message: (err as Error).message } }, 'audit checkpoint after sealing failed');
      }
    }
    return result;
  }

  /** Rounds never overlap within an instance (across instances the advisory lock orders them). */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  }

  function schedule(): void {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void exclusive(() => round(0))
        .catch((err: Error) => log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'audit sealing round failed; retrying next round'))
        .finally(schedule);
    }, intervalMs);
    // Never the reason the process stays up; close() stops it explicitly anyway.
    timer.unref();
  }

  return {
    /** Starts the background rounds (no-op when intervalMs is 0). */
    start(): void {
      stopped = false;
      if (!timer) schedule();
    },
    /** Stops the rounds and waits for one in progress, so nothing touches the store afterwards. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    /**
     * Seals everything that is final now: waits up to waitMs for writers seen at the call to end
     * (a writer still open after that holds sealing back at its id). Deterministic for tests.
     */
    sealNow(waitMs = 2000): Promise<SealRound> {
      return exclusive(() => round(waitMs));
    },
  };
}
