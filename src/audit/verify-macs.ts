import type { Queryable } from '../store/store.js';
import { MAC_INPUT_SQL } from './audit-canonical.js';
import { macMatches } from './event-mac.js';

export interface MacCheck {
  /** Rows whose MAC was checked and matched. */
  checked: number;
  /** Rows from before event MACs (007_audit_event_macs.sql) that carry none: counted, not tampering. */
  writtenBefore: number;
  /** The lowest row that dab did not write: no MAC where one is due, or one that does not match. */
  forged?: { id: number; detail: string };
}

/** The first id that must carry a MAC (set once by migration 007; the runtime role cannot change it). */
export async function macsFromId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: unknown }>('SELECT audit_event_macs_from() AS id');
  return Number(rows[0]?.id);
}

/**
 * Checks the MAC of every row with fromId <= id <= toId, sealed or not, in keyset pages (flat
 * memory). Sealing does not vouch for a row's author: the runtime role can insert a row before the
 * sealer runs, and the sealer seals it. Only a MAC under a key the database does not hold does.
 */
export async function checkEventMacs(db: Queryable, key: Buffer, fromId: number, toId: number, pageSize = 1000): Promise<MacCheck> {
  const firstMacId = await macsFromId(db);
  const result: MacCheck = { checked: 0, writtenBefore: 0 };
  let next = fromId;
  while (next <= toId) {
    // Rows without a MAC need no canonical text: they are counted, or reported, by id alone.
    const { rows } = await db.query<{ id: unknown; mac: string | null; canonical: string | null }>(
      `SELECT id, event_mac AS mac, CASE WHEN event_mac IS NULL THEN NULL ELSE ${MAC_INPUT_SQL} END AS canonical
       FROM audit_events WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $3`,
      [next, toId, pageSize],
    );
    for (const row of rows) {
      const id = Number(row.id);
      if (row.mac === null || row.canonical === null) {
        if (id < firstMacId) {
          result.writtenBefore += 1;
          continue;
        }
        return { ...result, forged: { id, detail: `event ${id} has no MAC, and every event from ${firstMacId} on must: dab did not write it` } };
      }
      if (!macMatches(key, row.canonical, row.mac)) {
        return { ...result, forged: { id, detail: `event ${id} has a MAC that does not match its content under dab's event MAC key: dab did not write it as it stands` } };
      }
      result.checked += 1;
    }
    if (rows.length < pageSize) break;
    next = Number(rows[rows.length - 1]?.id) + 1;
  }
  return result;
}
