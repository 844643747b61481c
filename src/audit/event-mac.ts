import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalTimestamp } from './audit-canonical.js';
import type { AuditEvent } from './audit-repo.js';

/**
 * Event MACs: tells rows dab wrote from rows someone else inserted with the runtime role's
 * credentials (which may INSERT into audit_events). Each row carries
 *   event_mac = hex(HMAC-SHA256(key, "dab-audit-event-mac-v1\n" + stable JSON of the row))
 * where "the row" is its canonical form (audit-canonical.ts MAC_INPUT_SQL: every column but the
 * database-assigned id and the MAC itself, event_id included; a column added after format 1 (the
 * AWS caller columns, engine, the trace columns) only when set, so rows from before it keep their MACs). The key never reaches the database.
 *
 * Writing and verifying compute the same text from two ends: the writer from the AuditEvent it is
 * about to insert (as the database will store it), the verifier by parsing the canonical text the
 * database renders and serialising it again. Serialising in JS on both sides (keys sorted at every
 * level, JSON.stringify's escaping and number form) keeps the MAC independent of how jsonb happens
 * to render keys and numbers, while the values are exactly those stored.
 */
export const EVENT_MAC_VERSION = 1;
const TAG = `dab-audit-event-mac-v${EVENT_MAC_VERSION}\n`;
const HKDF_INFO = 'dab audit event mac v1';

/** JSON with object keys sorted at every level: one text per value, whatever order it was built in. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

const orNull = <T>(v: T | null | undefined): T | null => v ?? null;
const stamp = (d: Date | null | undefined) => (d ? canonicalTimestamp(d) : null);

/**
 * The MAC input's columns: how each is read off an event as the database will store it (uuid in
 * lowercase, timestamps in canonical text, details as JSON with undefined dropped and dates as
 * strings). `added`: a column added after format 1, part of the input only when set
 * (audit-canonical.ts ADDED_FIELDS).
 */
const FIELDS: ReadonlyArray<{ column: string; read: (e: AuditEvent) => unknown; added?: true }> = [
  { column: 'event_id', read: (e) => e.eventId.toLowerCase() },
  { column: 'occurred_at', read: (e) => stamp(e.occurredAt) },
  { column: 'event_type', read: (e) => e.eventType },
  { column: 'outcome', read: (e) => e.outcome },
  { column: 'reason', read: (e) => e.reason },
  { column: 'rule', read: (e) => orNull(e.rule) },
  { column: 'request_id', read: (e) => orNull(e.requestId) },
  { column: 'actor_issuer', read: (e) => e.actor?.issuer ?? null },
  { column: 'actor_subject', read: (e) => e.actor?.subject ?? null },
  { column: 'actor_groups', read: (e) => (e.actor ? [...e.actor.groups] : null) },
  { column: 'source_ip', read: (e) => orNull(e.sourceIp) },
  { column: 'user_agent', read: (e) => orNull(e.userAgent) },
  { column: 'database_name', read: (e) => orNull(e.databaseName) },
  { column: 'access_level', read: (e) => orNull(e.accessLevel) },
  { column: 'db_user', read: (e) => orNull(e.dbUser) },
  { column: 'role_arn', read: (e) => orNull(e.roleArn) },
  { column: 'session_name', read: (e) => orNull(e.sessionName) },
  { column: 'source_identity', read: (e) => orNull(e.sourceIdentity) },
  { column: 'access_key_id', read: (e) => orNull(e.accessKeyId) },
  { column: 'token_fingerprint', read: (e) => orNull(e.tokenFingerprint) },
  { column: 'expires_at', read: (e) => stamp(e.expiresAt) },
  { column: 'caller_reason', read: (e) => orNull(e.callerReason) },
  { column: 'details', read: (e) => (e.details === undefined ? null : ((JSON.parse(JSON.stringify(e.details) ?? 'null') as unknown) ?? null)) },
  { column: 'caller_arn', read: (e) => e.callerArn, added: true },
  { column: 'caller_account', read: (e) => e.callerAccount, added: true },
  { column: 'caller_session_name', read: (e) => e.callerSessionName, added: true },
  { column: 'engine', read: (e) => e.engine, added: true },
  { column: 'trace_id', read: (e) => e.traceId, added: true },
  { column: 'parent_span_id', read: (e) => e.parentSpanId, added: true },
  { column: 'client_request_id', read: (e) => e.clientRequestId, added: true },
  { column: 'access_request_id', read: (e) => e.accessRequestId, added: true },
];

/** The row an event becomes, as the MAC's canonical form would show it once read back. */
export function canonicalValueOf(e: AuditEvent): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const { column, read, added } of FIELDS) {
    const v = read(e);
    if (!added || v != null) value[column] = v;
  }
  return value;
}

// The columns in stableJson's key order, each with its key already in JSON.
const SORTED_FIELDS = [...FIELDS].sort((a, b) => (a.column < b.column ? -1 : 1)).map((f) => ({ ...f, key: JSON.stringify(f.column) }));

/**
 * stableJson(canonicalValueOf(e)), written straight from the event: the same text without building
 * the object, listing its entries and sorting them for every row (that was ~14 % of the bytes a
 * grant allocated). test/audit/event-mac.test.ts holds the two equal.
 */
export function canonicalJsonOf(e: AuditEvent): string {
  let out = '';
  for (const { key, read, added } of SORTED_FIELDS) {
    const v = read(e);
    if (added && v == null) continue;
    out += `${out ? ',' : '{'}${key}:${stableJson(v)}`;
  }
  return `${out}}`;
}

function macOfText(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(TAG).update(text).digest('hex');
}

/** The MAC of an event about to be inserted. Pure: the same key and event give the same MAC. */
export function eventMac(key: Buffer, event: AuditEvent): string {
  return macOfText(key, canonicalJsonOf(event));
}

/** The MAC a row should carry, from its canonical text (format 1) as the database renders it. */
export function macOfCanonical(key: Buffer, canonical: string): string {
  return macOfText(key, stableJson(JSON.parse(canonical)));
}

/** Whether `stored` is the MAC of that canonical text (constant time). */
export function macMatches(key: Buffer, canonical: string, stored: string | null): boolean {
  if (typeof stored !== 'string' || !/^[0-9a-f]{64}$/.test(stored)) return false;
  return timingSafeEqual(Buffer.from(macOfCanonical(key, canonical), 'hex'), Buffer.from(stored, 'hex'));
}

/**
 * The MAC key: audit.eventMacKey when set, else derived from the fingerprint key with HKDF-SHA256
 * under its own label. Deriving by default means every deployment gets MACs without a new secret to
 * provision, and the fingerprint key already lives where this key must (with dab, never in the
 * database); the label keeps the two uses apart (neither value reveals or stands for the other).
 * Set eventMacKey explicitly to rotate the fingerprint key without orphaning old rows' MACs.
 */
export function deriveEventMacKey(fingerprintKey: Buffer, explicit?: Buffer): Buffer {
  if (explicit) return explicit;
  return Buffer.from(hkdfSync('sha256', fingerprintKey, Buffer.alloc(0), HKDF_INFO, 32));
}
