import type { Queryable } from '../store/store.js';
import { insertAuditEvents, MAX_ROWS_PER_INSERT, type AuditEvent } from './audit-repo.js';

/** What one flush did: for the batch-size and flush-latency metrics. */
export interface FlushReport {
  rows: number;
  seconds: number;
  ok: boolean;
}

export interface AuditWriterDeps {
  /** Autocommit queries: each batch is one INSERT, so one transaction. */
  store: Queryable;
  /** Key of the rows' MACs (src/audit/event-mac.ts). */
  macKey: Buffer;
  /** Most rows in one INSERT. */
  maxBatchRows: number;
  /** Most INSERTs in flight at once (each holds one pool connection while it runs). */
  maxConcurrentFlushes: number;
  onFlush?: (report: FlushReport) => void;
}

export interface AuditWriter {
  /**
   * Resolves once the event's row is committed. Rejects when the batch holding it failed or its
   * outcome is uncertain (error, timeout, connection lost mid-commit): then no row of that batch
   * may be relied on, and every caller in it must be refused.
   */
  write(event: AuditEvent): Promise<void>;
  /** Rows waiting for a flush (not counting those in flight). */
  readonly queued: number;
  /** Writes what is queued, waits for every flush, then refuses new writes. */
  close(): Promise<void>;
}

interface Pending {
  event: AuditEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class AuditWriterClosedError extends Error {
  constructor() {
    super('the audit writer is closed');
    this.name = 'AuditWriterClosedError';
  }
}

/**
 * Group commit for the hot audit writers. A row goes out at once when a flush slot is free (no
 * timer, so an idle service adds no latency); while every slot is busy, rows queue and the next
 * free slot takes up to maxBatchRows of them in one multi-row INSERT. So batches grow exactly
 * when the store is the bottleneck, and a row waits at most for the flushes ahead of it.
 *
 * One INSERT is all-or-nothing: a batch is committed as a whole or not at all, and an error leaves
 * every row of it in doubt — which is why every write of a failed batch rejects, not just the one
 * whose row PostgreSQL refused.
 */
export function createAuditWriter({ store, macKey, maxBatchRows, maxConcurrentFlushes, onFlush }: AuditWriterDeps): AuditWriter {
  if (maxBatchRows < 1 || maxBatchRows > MAX_ROWS_PER_INSERT) throw new RangeError(`maxBatchRows must be 1..${MAX_ROWS_PER_INSERT}`);
  if (maxConcurrentFlushes < 1) throw new RangeError('maxConcurrentFlushes must be at least 1');
  let queue: Pending[] = [];
  let inFlight = 0;
  let closed = false;
  let drained: (() => void) | undefined;

  async function flush(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let ok = false;
    try {
      await insertAuditEvents(store, batch.map((p) => p.event), macKey);
      ok = true;
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    try {
      onFlush?.({ rows: batch.length, seconds: (performance.now() - started) / 1000, ok });
    } catch {
      // A metrics hook must not leave the callers of a committed batch waiting.
    }
    if (ok) for (const p of batch) p.resolve();
  }

  function pump(): void {
    while (inFlight < maxConcurrentFlushes && queue.length > 0) {
      const batch = queue.length <= maxBatchRows ? queue : queue.slice(0, maxBatchRows);
      queue = queue.length <= maxBatchRows ? [] : queue.slice(maxBatchRows);
      inFlight += 1;
      void flush(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
    if (drained && inFlight === 0 && queue.length === 0) drained();
  }

  return {
    write(event) {
      if (closed) return Promise.reject(new AuditWriterClosedError());
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        pump();
      });
    },
    get queued() {
      return queue.length;
    },
    async close() {
      closed = true;
      if (inFlight === 0 && queue.length === 0) return;
      await new Promise<void>((resolve) => {
        drained = resolve;
        pump();
      });
    },
  };
}
