import type { Queryable } from '../store/store.js';
import { canonicalRowSql, canonicalTimestampSql, rowHashSql, SEAL_FORMAT, type SealHeader } from './audit-canonical.js';

export interface Seal extends SealHeader {
  /** Absent when a page was read without them (seals outside the range being verified). */
  rowHashes?: Buffer;
}

interface SealRow {
  seq: unknown;
  format: unknown;
  first_id: unknown;
  last_id: unknown;
  row_count: unknown;
  gaps: unknown[];
  row_hashes?: Uint8Array | null;
  rows_digest: string;
  prev_seal_hash: string;
  seal_hash: string;
  sealed_at: string;
}

const HEADER_COLUMNS = `seq, format, first_id, last_id, row_count, gaps, rows_digest, prev_seal_hash, seal_hash, ${canonicalTimestampSql('sealed_at')} AS sealed_at`;

// pg returns int8 as strings and PGlite as numbers; ids stay far below 2^53, so numbers are exact.
function toSeal(r: SealRow): Seal {
  return {
    seq: Number(r.seq),
    format: Number(r.format),
    firstId: Number(r.first_id),
    lastId: Number(r.last_id),
    rowCount: Number(r.row_count),
    gaps: r.gaps.map(Number),
    rowsDigest: r.rows_digest,
    prevSealHash: r.prev_seal_hash,
    sealHash: r.seal_hash,
    sealedAt: r.sealed_at,
    ...(r.row_hashes ? { rowHashes: Buffer.from(r.row_hashes.buffer, r.row_hashes.byteOffset, r.row_hashes.byteLength) } : {}),
  };
}

/** The newest seal: the chain head. */
export async function sealHead(db: Queryable): Promise<Seal | undefined> {
  const { rows } = await db.query<SealRow>(`SELECT ${HEADER_COLUMNS} FROM audit_seals ORDER BY seq DESC LIMIT 1`);
  return rows[0] && toSeal(rows[0]);
}

export async function sealAt(db: Queryable, seq: number): Promise<Seal | undefined> {
  const { rows } = await db.query<SealRow>(`SELECT ${HEADER_COLUMNS} FROM audit_seals WHERE seq = $1`, [seq]);
  return rows[0] && toSeal(rows[0]);
}

export async function insertSeal(db: Queryable, seal: Seal & { rowHashes: Buffer }): Promise<void> {
  await db.query(
    `INSERT INTO audit_seals (seq, format, first_id, last_id, row_count, gaps, row_hashes, rows_digest, prev_seal_hash, seal_hash, sealed_at)
     VALUES ($1, $2, $3, $4, $5, $6::bigint[], $7, $8, $9, $10, $11::timestamptz)`,
    [seal.seq, seal.format, seal.firstId, seal.lastId, seal.rowCount, seal.gaps, seal.rowHashes, seal.rowsDigest, seal.prevSealHash, seal.sealHash, seal.sealedAt],
  );
}

/**
 * Every seal after `afterSeq` in seq order, a page at a time (flat memory). Row hashes are only fetched for seals
 * that overlap [hashesFrom, hashesTo]: the chain check needs headers only.
 * Ordered by the primary key, so a missing or duplicated seq shows up as a break, not a hidden hole.
 */
export async function* readSeals(db: Queryable, hashesFrom: number, hashesTo: number, afterSeq = 0, pageSize = 100): AsyncGenerator<Seal> {
  let after = afterSeq;
  for (;;) {
    const { rows } = await db.query<SealRow>(
      `SELECT ${HEADER_COLUMNS}, CASE WHEN last_id >= $2 AND first_id <= $3 THEN row_hashes END AS row_hashes
       FROM audit_seals WHERE seq > $1 ORDER BY seq LIMIT $4`,
      [after, hashesFrom, hashesTo, pageSize],
    );
    for (const row of rows) yield toSeal(row);
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]?.seq);
  }
}

/** Audit rows with fromId <= id <= toId in id order, one SQL expression each, read in keyset pages. */
async function* readRows<T>(db: Queryable, expression: string, fromId: number, toId: number, pageSize: number): AsyncGenerator<{ id: number; value: T }> {
  let next = fromId;
  while (next <= toId) {
    const { rows } = await db.query<{ id: unknown; value: T }>(`SELECT id, ${expression} AS value FROM audit_events WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $3`, [
      next,
      toId,
      pageSize,
    ]);
    for (const row of rows) yield { id: Number(row.id), value: row.value };
    if (rows.length < pageSize) return;
    next = Number(rows[rows.length - 1]?.id) + 1;
  }
}

/** Each row's id and hash in a seal format (hashed by the database: 32 bytes per row cross the wire). */
export async function* readRowHashes(db: Queryable, fromId: number, toId: number, pageSize = 2000, format = SEAL_FORMAT): AsyncGenerator<{ id: number; hash: Buffer }> {
  for await (const { id, value } of readRows<Uint8Array>(db, rowHashSql(format), fromId, toId, pageSize)) {
    yield { id, hash: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }
}

/** Each row's id and canonical text in a seal format (what archive files carry). */
export async function* readCanonicalTexts(db: Queryable, fromId: number, toId: number, pageSize = 1000, format = SEAL_FORMAT): AsyncGenerator<{ id: number; canonical: string }> {
  for await (const { id, value } of readRows<string>(db, canonicalRowSql(format), fromId, toId, pageSize)) yield { id, canonical: value };
}

/** How many audit rows no seal covers yet. */
export async function countUnsealed(db: Queryable, afterId: number): Promise<number> {
  const { rows } = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM audit_events WHERE id > $1', [afterId]);
  return Number(rows[0]?.n ?? 0);
}

/**
 * How long the oldest row no seal covers has waited, in seconds (0 when every row is sealed): the
 * seal lag operators alert on, since an unsealed row is not yet tamper-evident.
 */
export async function sealLagSeconds(db: Queryable, now: Date): Promise<number> {
  const head = await sealHead(db);
  const { rows } = await db.query<{ occurred_at: Date | string }>('SELECT occurred_at FROM audit_events WHERE id > $1 ORDER BY id LIMIT 1', [head?.lastId ?? 0]);
  const oldest = rows[0]?.occurred_at;
  return oldest === undefined ? 0 : Math.max(0, (now.getTime() - new Date(oldest).getTime()) / 1000);
}
