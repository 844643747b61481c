import { randomBytes, randomUUID } from 'node:crypto';
import { canonicalTimestamp, computeSealHash, GENESIS_HASH, gapsOf, rowsDigest } from '../../src/audit/audit-canonical.js';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { insertSeal, readRowHashes } from '../../src/audit/seal-repo.js';
import type { VerifyOutcome } from '../../src/audit/verify-chain.js';
import { eventMacKeyBytes } from '../../src/config/load-config.js';
import type { Queryable, Store } from '../../src/store/store.js';
import { AUDITOR_SUBJECT, type Harness } from './harness.js';

/** GET /v1/audit/verify as the auditor; throws on anything but 200. */
export async function verify(h: Harness, query = ''): Promise<VerifyOutcome> {
  const res = await h.app.inject({ method: 'GET', url: `/v1/audit/verify${query}`, headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
  if (res.statusCode !== 200) throw new Error(`verify answered ${res.statusCode}: ${res.body}`);
  return res.json() as VerifyOutcome;
}

/** POST /v1/audit/verify with a checkpoint, as the auditor. */
export async function verifyWith(h: Harness, body: object) {
  return h.app.inject({ method: 'POST', url: '/v1/audit/verify', payload: body, headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
}

/** The event MAC key of the harness's dab: rows inserted with it read as written by dab. */
export const macKeyOf = (h: Harness): Buffer => eventMacKeyBytes(h.config.audit);

/** A bare audit event, as any writer would insert it. */
export function probeEvent(reason = 'probe') {
  return { eventId: randomUUID(), occurredAt: new Date(), eventType: 'test.event', outcome: 'succeeded' as const, reason, details: { n: 1 } };
}

/** Burns an id: an audit insert whose transaction rolls back (a sequence gap). Returns nothing; the id is lost. */
export async function rolledBackInsert(store: Store): Promise<void> {
  await store
    .transaction(async (tx) => {
      // Any key: the row never commits.
      await insertAuditEvent(tx, probeEvent('rolled back'), randomBytes(32));
      throw new Error('roll back');
    })
    .catch(() => undefined);
}

/**
 * Runs SQL as a database superuser would to tamper: with the append-only triggers of the audit
 * tables switched off for the duration (table owner / superuser only), in one transaction.
 */
export async function asSuperuser(store: Store, fn: (tx: Queryable) => Promise<void>): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_seals DISABLE TRIGGER USER');
    await fn(tx);
    await tx.exec('ALTER TABLE audit_events ENABLE TRIGGER USER; ALTER TABLE audit_seals ENABLE TRIGGER USER');
  });
}

/** A row as jsonb (exact: timestamps keep microseconds), for putting it back later. */
export async function rowJson(db: Queryable, table: 'audit_events' | 'audit_seals', where: string, params: unknown[]): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ j: Record<string, unknown> }>(`SELECT to_jsonb(t) AS j FROM ${table} t WHERE ${where}`, params);
  if (!rows[0]) throw new Error(`no ${table} row where ${where}`);
  return rows[0].j;
}

export async function insertJson(db: Queryable, table: 'audit_events' | 'audit_seals', row: Record<string, unknown>): Promise<void> {
  await db.query(`INSERT INTO ${table} SELECT * FROM jsonb_populate_record(null::${table}, $1::jsonb)`, [JSON.stringify(row)]);
}

export async function sealRows(store: Queryable) {
  const { rows } = await store.query<{ seq: unknown; first_id: unknown; last_id: unknown; row_count: unknown; gaps: unknown[] }>(
    'SELECT seq, first_id, last_id, row_count, gaps FROM audit_seals ORDER BY seq',
  );
  return rows.map((r) => ({ seq: Number(r.seq), firstId: Number(r.first_id), lastId: Number(r.last_id), rowCount: Number(r.row_count), gaps: r.gaps.map(Number) }));
}

export async function eventIds(store: Queryable): Promise<number[]> {
  return (await store.query<{ id: unknown }>('SELECT id FROM audit_events ORDER BY id')).rows.map((r) => Number(r.id));
}

/**
 * The first seal (seq 1) over ids firstId..lastId in an older format, as that version's sealer
 * wrote it: for upgrade tests, whose schema the current sealer's format does not fit yet.
 */
export async function writeFirstSeal(store: Store, format: number, firstId: number, lastId: number): Promise<void> {
  const ids: number[] = [];
  const hashes: Buffer[] = [];
  for await (const row of readRowHashes(store, firstId, lastId, 100, format)) {
    ids.push(row.id);
    hashes.push(row.hash);
  }
  const rowHashes = Buffer.concat(hashes);
  const header = { seq: 1, format, firstId, lastId, rowCount: ids.length, gaps: gapsOf(firstId, lastId, ids), rowsDigest: rowsDigest(rowHashes), prevSealHash: GENESIS_HASH, sealedAt: canonicalTimestamp(new Date()) };
  await insertSeal(store, { ...header, sealHash: computeSealHash(header), rowHashes });
}
