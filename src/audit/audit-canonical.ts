import { createHash } from 'node:crypto';

/**
 * The canonical forms that seals commit to. Changing anything here changes every digest: a new
 * layout needs a new SEAL_FORMAT, with verification keeping the old one for the seals that record it.
 * Format 1: every column of 001_initial.sql but the id. Format 2 (007_audit_event_macs.sql): the
 * same, then event_mac. Format 3 (010_audit_aws_callers.sql, 011_database_engines.sql,
 * 012_access_requests.sql, 013_audit_trace_context.sql): format 1, then each column added since (the
 * AWS caller columns, engine, access_request_id, the trace columns) only when it is set,
 * then event_mac. New seals use the newest; seals already written keep theirs.
 */
export const SEAL_FORMAT = 3;
export const SEAL_FORMATS: readonly number[] = [1, 2, 3];
/** prev_seal_hash of the first seal. */
export const GENESIS_HASH = '0'.repeat(64);
export const ROW_HASH_BYTES = 32;

/**
 * A timestamp as text, formatted by the database: drivers turn timestamptz into a JS Date, which
 * drops microseconds (an edit of a few µs would go unseen) and depends on the session's TimeZone.
 */
export const canonicalTimestampSql = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The same text form for a JS Date (millisecond precision, so the last three digits are zero). */
export const canonicalTimestamp = (date: Date) => date.toISOString().replace(/Z$/, '000Z');

/** optional-text: a column added after format 1, in the text only when set (NULL leaves no trace). */
type Kind = 'text' | 'text[]' | 'jsonb' | 'optional-text';

/**
 * Every column of audit_events (001_initial.sql) except `id`, in serialisation order (format 1).
 * The id is bound by position instead: a seal lists its row hashes in id order and records which ids
 * of its range never existed, so a row's content showing up under another id reads as "reordered".
 * A column added by a later migration is not covered until a new format includes it.
 */
type Field = readonly [column: string, select: string, kind: Kind];
const FIELDS_V1: ReadonlyArray<Field> = [
  ['event_id', 'event_id::text', 'text'],
  ['occurred_at', canonicalTimestampSql('occurred_at'), 'text'],
  ['event_type', 'event_type', 'text'],
  ['outcome', 'outcome', 'text'],
  ['reason', 'reason', 'text'],
  ['rule', 'rule', 'text'],
  ['request_id', 'request_id', 'text'],
  ['actor_issuer', 'actor_issuer', 'text'],
  ['actor_subject', 'actor_subject', 'text'],
  ['actor_groups', 'actor_groups', 'text[]'],
  ['source_ip', 'source_ip', 'text'],
  ['user_agent', 'user_agent', 'text'],
  ['database_name', 'database_name', 'text'],
  ['access_level', 'access_level', 'text'],
  ['db_user', 'db_user', 'text'],
  ['role_arn', 'role_arn', 'text'],
  ['session_name', 'session_name', 'text'],
  ['source_identity', 'source_identity', 'text'],
  ['access_key_id', 'access_key_id', 'text'],
  ['token_fingerprint', 'token_fingerprint', 'text'],
  ['expires_at', canonicalTimestampSql('expires_at'), 'text'],
  ['caller_reason', 'caller_reason', 'text'],
  // jsonb's own text output is already canonical (keys sorted, duplicates dropped, fixed spacing) and
  // keeps numbers exactly as stored.
  ['details', 'details', 'jsonb'],
];
/** Format 2: format 1, then the event MAC (src/audit/event-mac.ts), so seals commit to it too. */
const FIELDS_V2: ReadonlyArray<Field> = [...FIELDS_V1, ['event_mac', 'event_mac', 'text']];
/**
 * What an event MAC covers: format 1 and, only where set, the columns added since (010: the AWS
 * caller's ARN, account and session name; 011: engine; 012: access_request_id; 013: trace id, parent
 * span, client request id). A row written before a column existed
 * renders exactly as it did, so its MAC still verifies; a row that has the column set cannot lose
 * or change it unseen.
 */
const ADDED_FIELDS: ReadonlyArray<Field> = [
  ['caller_arn', 'caller_arn', 'optional-text'],
  ['caller_account', 'caller_account', 'optional-text'],
  ['caller_session_name', 'caller_session_name', 'optional-text'],
  ['engine', 'engine', 'optional-text'],
  // 013: the caller's trace context and x-request-id.
  ['trace_id', 'trace_id', 'optional-text'],
  ['parent_span_id', 'parent_span_id', 'optional-text'],
  ['client_request_id', 'client_request_id', 'optional-text'],
  ['access_request_id', 'access_request_id', 'optional-text'],
];
const MAC_FIELDS: ReadonlyArray<Field> = [...FIELDS_V1, ...ADDED_FIELDS];
/** Format 3: the MAC's fields, then the MAC. */
const FIELDS_V3: ReadonlyArray<Field> = [...MAC_FIELDS, ['event_mac', 'event_mac', 'text']];
const FIELDS_OF: Record<number, ReadonlyArray<Field>> = { 1: FIELDS_V1, 2: FIELDS_V2, 3: FIELDS_V3 };

const value = (select: string, kind: Kind) => (kind === 'jsonb' ? `coalesce(${select}::text, 'null')` : `coalesce(to_json(${select})::text, 'null')`);

/** The text of a field list: `'{' || "k":v || ',' || … || '}'`, an optional field with its comma only when set. */
function fieldsSql(fields: ReadonlyArray<Field>): string {
  let sql = `'{'`;
  fields.forEach(([column, select, kind], i) => {
    const comma = i === 0 ? '' : ',';
    sql += kind === 'optional-text'
      ? ` || CASE WHEN ${select} IS NULL THEN '' ELSE '${comma}"${column}":' || to_json(${select})::text END`
      : ` || '${comma}"${column}":' || ${value(select, kind)}`;
  });
  return `(${sql} || '}')`;
}

/**
 * One row as JSON text with the columns in the fixed order above and every null explicit, e.g.
 * {"event_id":"…","occurred_at":"2025-01-01T00:00:00.123456Z",…,"details":null}.
 * The database renders it (PostgreSQL's JSON escaping is fixed and the same in PGlite) and hashes it
 * too, so sealing and verifying ship 32 bytes per row instead of every column, and the text cannot
 * drift with a driver's type parsing.
 */
export function canonicalRowSql(format: number): string {
  const fields = FIELDS_OF[format];
  if (!fields) throw new Error(`unknown seal format ${format}`);
  return fieldsSql(fields);
}

/** The row hash, computed by the database: SHA-256 over a format tag, a newline and the canonical text. */
export const rowHashSql = (format: number) => `sha256(convert_to('dab-audit-row-v${format}' || chr(10) || ${canonicalRowSql(format)}, 'UTF8'))`;

/** The current format's forms (what the sealer writes). */
export const CANONICAL_ROW_SQL = canonicalRowSql(SEAL_FORMAT);
export const ROW_HASH_SQL = rowHashSql(SEAL_FORMAT);
/** What an event MAC covers: every column but the id and the MAC itself (MAC_FIELDS). */
export const MAC_INPUT_SQL = fieldsSql(MAC_FIELDS);

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest();

/** The same hash from canonical text (archive files carry the text; checking them needs no database). */
export function rowHashOfCanonical(canonical: string, format: number = SEAL_FORMAT): Buffer {
  return sha256(`dab-audit-row-v${format}\n${canonical}`);
}

/** rows_digest: SHA-256 over the row hashes in id order (a running hash of the whole batch). */
export function rowsDigest(rowHashes: Buffer): string {
  return sha256(rowHashes).toString('hex');
}

export interface SealHeader {
  seq: number;
  format: number;
  firstId: number;
  lastId: number;
  rowCount: number;
  /** Inclusive [from, to] pairs, flattened, of ids in the range that never committed. */
  gaps: number[];
  rowsDigest: string;
  prevSealHash: string;
  sealHash: string;
  /** canonicalTimestamp form. */
  sealedAt: string;
}

/** seal_hash = H(everything in the header but itself), so editing any field breaks the chain. */
export function computeSealHash(s: Omit<SealHeader, 'sealHash'>): string {
  const fields = [s.seq, s.format, s.prevSealHash, String(s.firstId), String(s.lastId), s.rowCount, s.gaps.map(String), s.rowsDigest, s.sealedAt];
  return sha256(`dab-seal-v${s.format}\n${JSON.stringify(fields)}`).toString('hex');
}

/** Maximal runs of ids in [firstId, lastId] absent from `ids` (sorted ascending, all in range). */
export function gapsOf(firstId: number, lastId: number, ids: readonly number[]): number[] {
  const gaps: number[] = [];
  let expected = firstId;
  for (const id of ids) {
    if (id > expected) gaps.push(expected, id - 1);
    expected = id + 1;
  }
  if (expected <= lastId) gaps.push(expected, lastId);
  return gaps;
}

/** How many ids the gaps cover. */
export const gapSize = (gaps: readonly number[]) => {
  let n = 0;
  for (let i = 0; i + 1 < gaps.length; i += 2) n += (gaps[i + 1] as number) - (gaps[i] as number) + 1;
  return n;
};
