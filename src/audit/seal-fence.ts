import type { Queryable } from '../store/store.js';

/**
 * When may ids be sealed? A seal must never pass over an id that is still in flight (allocated by
 * nextval but not yet committed): if that row committed later, it would sit inside a sealed range
 * and verification would flag a genuine event as "inserted" — or, worse, the sealer would have
 * recorded its id as a gap.
 *
 * Why not "older than statement_timeout": only grant rows are single autocommit INSERTs. DBA changes
 * insert their audit row inside a multi-statement transaction (the change and its record commit
 * together), which can stay open far longer than one statement; no timeout bounds it.
 *
 * The rule used instead is the one CREATE INDEX CONCURRENTLY relies on — wait out the writers:
 *   1. Read L = the last value the id sequence handed out (pg_sequence_last_value: non-transactional,
 *      so it includes ids of uncommitted rows).
 *   2. Then read V = the transactions holding a write lock on audit_events. An INSERT takes its
 *      RowExclusiveLock while the statement is parsed, before the id default (nextval) runs, and keeps
 *      it until its transaction ends. So every transaction that got an id <= L before step 1 either
 *      had already ended, or is in V.
 *   3. Once none of V is running any more, every id <= L is final: committed (visible) or rolled back
 *      (a gap forever). Ids <= L may then be sealed, gaps included.
 * Nobody waits on anybody: the grant path takes no extra lock and the sealer only reads pg_locks.
 * A long DBA transaction merely holds sealing back (at that id) until it ends.
 *
 * On the embedded store there is one connection and statements never interleave, so V is always empty.
 */
export interface Fence {
  /** Every id <= lastId is final once `holders` have all ended. */
  lastId: number;
  /** virtualtransaction ids of the writers seen at step 2. */
  holders: string[];
}

const LAST_ID_SQL = "SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_events', 'id')::regclass) AS last_id";

// Any mode at least as strong as RowExclusiveLock lets a transaction insert. Prepared transactions
// keep their locks under a virtualtransaction of their own, so they are waited for too.
const HOLDERS_SQL = `SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{}') AS holders FROM pg_locks
  WHERE locktype = 'relation' AND relation = 'audit_events'::regclass AND granted
    AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
    AND pid IS DISTINCT FROM pg_backend_pid()`;

/** Steps 1 and 2. Two statements, in this order: reading V after L is what makes the rule sound. */
export async function takeFence(db: Queryable): Promise<Fence> {
  const last = await db.query<{ last_id: unknown }>(LAST_ID_SQL);
  const held = await db.query<{ holders: string[] }>(HOLDERS_SQL);
  return { lastId: Number(last.rows[0]?.last_id ?? 0), holders: held.rows[0]?.holders ?? [] };
}

/** Of these fences, the one with the highest lastId whose writers have all ended (step 3). */
export async function settledFence(db: Queryable, fences: readonly Fence[]): Promise<Fence | undefined> {
  const all = [...new Set(fences.flatMap((f) => f.holders))];
  let running = new Set<string>();
  if (all.length) {
    const { rows } = await db.query<{ vxid: string }>('SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks WHERE virtualtransaction = ANY($1::text[])', [all]);
    running = new Set(rows.map((r) => r.vxid));
  }
  let best: Fence | undefined;
  for (const fence of fences) {
    if (fence.holders.some((h) => running.has(h))) continue;
    if (!best || fence.lastId > best.lastId) best = fence;
  }
  return best;
}
