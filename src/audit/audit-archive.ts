import { randomUUID } from 'node:crypto';
import type { Queryable, Store } from '../store/store.js';
import { archiveAnchor } from './archive-anchor.js';
import { insertAuditEvent } from './audit-repo.js';
import { ArchiveRefusedError, writeArchiveFile, type ArchiveRange } from './archive-file.js';

export { ArchiveRefusedError };
import type { ArchiveRecord, CheckpointKey } from './checkpoint-signer.js';
import { readSeals, sealAt, sealHead } from './seal-repo.js';
import { verifyAuditLog } from './verify-chain.js';

/**
 * Retention: move sealed events older than a cut-off to an NDJSON file and remove them.
 *
 * - Only whole seals go, and only seals all of whose events are older than the cut-off.
 * - The seals themselves stay (32 bytes per archived event), so the chain still verifies from
 *   genesis and the file can be checked against it at any time.
 * - The range is verified before anything is written, the file is fsynced before anything is
 *   deleted, and the DELETE plus the `audit.archived` event commit together.
 * - That event carries a record signed with the checkpoint key (a key the database does not hold):
 *   verification treats missing events as archived only under such a record, so a superuser who
 *   deletes old events cannot pass the hole off as an archive.
 * - Forged rows (no valid event MAC) make the range fail verification, so they are never archived
 *   as if dab had written them.
 * - The append-only trigger lets this DELETE through only for the table's owner (005_audit_archive.sql).
 */
/** Whether this connection's role may archive: only the audit table's owner (see 005_audit_archive.sql). */
export async function mayArchive(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ owner: boolean }>("SELECT pg_has_role(current_user, relowner, 'MEMBER') AS owner FROM pg_class WHERE oid = 'audit_events'::regclass");
  return rows[0]?.owner === true;
}

/** The seals after the last archive whose events all occurred before `before`; undefined when none. */
export async function planArchive(db: Queryable, key: CheckpointKey, before: Date): Promise<ArchiveRange | undefined> {
  const previous = await archiveAnchor(db, key.publicKey);
  const head = await sealHead(db);
  const fromSeq = (previous?.throughSeq ?? 0) + 1;
  if (!head || head.seq < fromSeq) return undefined;
  let range: ArchiveRange | undefined;
  // Headers only (an empty hash range): planning needs ids, not row hashes.
  for await (const seal of readSeals(db, 0, -1, fromSeq - 1)) {
    if (seal.seq > head.seq) break;
    const { rows } = await db.query<{ young: boolean }>('SELECT EXISTS (SELECT 1 FROM audit_events WHERE id BETWEEN $1 AND $2 AND occurred_at >= $3) AS young', [
      seal.firstId,
      seal.lastId,
      before,
    ]);
    if (rows[0]?.young) break;
    range = { fromSeq, throughSeq: seal.seq, firstId: range?.firstId ?? seal.firstId, lastId: seal.lastId, events: (range?.events ?? 0) + seal.rowCount };
  }
  return range;
}

export interface ArchiveResult {
  range: ArchiveRange;
  record: ArchiveRecord;
  eventId: string;
}

/** Verifies, writes the file, then deletes and records, in that order. */
export async function archiveAuditLog(store: Store, key: CheckpointKey, opts: { range: ArchiveRange; output: string; before: Date; now: Date; macKey: Buffer }): Promise<ArchiveResult> {
  const { range } = opts;
  const check = await verifyAuditLog(store, { fromId: range.firstId, toId: range.lastId, archiveKey: key.publicKey, macKey: opts.macKey });
  if (!check.ok) {
    const b = check.firstBroken;
    throw new ArchiveRefusedError(`the range to archive does not verify (${b?.kind} at event ${b?.id ?? '?'}, seal ${b?.sealSeq}): refusing to archive, and so destroy, evidence`, true);
  }
  const fileSha256 = await writeArchiveFile(store, range, opts.output, opts.now);
  const seal = await sealAt(store, range.throughSeq);
  if (!seal) throw new ArchiveRefusedError(`seal ${range.throughSeq} vanished while archiving`);
  const record = key.signArchive({ throughSeq: range.throughSeq, sealHash: seal.sealHash, lastId: range.lastId, events: range.events, fileSha256, at: opts.now.toISOString() });
  const eventId = randomUUID();

  await store.transaction(async (tx) => {
    const current = await archiveAnchor(tx, key.publicKey);
    if ((current?.throughSeq ?? 0) + 1 !== range.fromSeq) throw new ArchiveRefusedError('another archive ran meanwhile: run this one again');
    await tx.query("SELECT set_config('dab.archive_through_id', $1, true)", [String(range.lastId)]);
    const deleted = await tx.query('DELETE FROM audit_events WHERE id BETWEEN $1 AND $2', [range.firstId, range.lastId]);
    if (deleted.rowCount !== range.events) throw new ArchiveRefusedError(`expected to remove ${range.events} events but found ${deleted.rowCount}: nothing removed`);
    await insertAuditEvent(tx, {
      eventId,
      occurredAt: opts.now,
      eventType: 'audit.archived',
      outcome: 'succeeded',
      reason: 'retention',
      rule: `seals ${range.fromSeq}-${range.throughSeq}`,
      userAgent: 'dab audit archive',
      details: { archive: record, fromSeq: range.fromSeq, firstId: range.firstId, before: opts.before.toISOString() },
    }, opts.macKey);
  });
  return { range, record, eventId };
}
