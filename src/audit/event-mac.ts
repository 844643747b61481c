import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalTimestamp } from './audit-canonical.js';
import type { AuditEvent } from './audit-repo.js';

/**
 * Event MACs: tells rows dab wrote from rows someone else inserted with the runtime role's
 * credentials (which may INSERT into audit_events). Each row carries
 *   event_mac = hex(HMAC-SHA256(key, "dab-audit-event-mac-v1\n" + stable JSON of the row))
 * where "the row" is its canonical form (audit-canonical.ts MAC_INPUT_SQL: every column but the
 * database-assigned id and the MAC itself, event_id included; a column added after format 1 (the
 * AWS caller columns, engine) only when set, so rows from before it keep their MACs). The key never reaches the database.
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
 * The row an event becomes, as the MAC's canonical form would show it once read back: uuid in
 * lowercase, timestamps in canonical text, details as JSON (undefined dropped, dates as strings).
 */
export function canonicalValueOf(e: AuditEvent): Record<string, unknown> {
  const value = canonicalV1(e);
  // Columns added after format 1 join the MAC input only when set (audit-canonical.ts ADDED_FIELDS).
  const added: Record<string, string | null | undefined> = {
    caller_arn: e.callerArn,
    caller_account: e.callerAccount,
    caller_session_name: e.callerSessionName,
    engine: e.engine,
    access_request_id: e.accessRequestId,
  };
  for (const [column, v] of Object.entries(added)) if (v != null) value[column] = v;
  return value;
}

function canonicalV1(e: AuditEvent): Record<string, unknown> {
  return {
    event_id: e.eventId.toLowerCase(),
    occurred_at: stamp(e.occurredAt),
    event_type: e.eventType,
    outcome: e.outcome,
    reason: e.reason,
    rule: orNull(e.rule),
    request_id: orNull(e.requestId),
    actor_issuer: e.actor?.issuer ?? null,
    actor_subject: e.actor?.subject ?? null,
    actor_groups: e.actor ? [...e.actor.groups] : null,
    source_ip: orNull(e.sourceIp),
    user_agent: orNull(e.userAgent),
    database_name: orNull(e.databaseName),
    access_level: orNull(e.accessLevel),
    db_user: orNull(e.dbUser),
    role_arn: orNull(e.roleArn),
    session_name: orNull(e.sessionName),
    source_identity: orNull(e.sourceIdentity),
    access_key_id: orNull(e.accessKeyId),
    token_fingerprint: orNull(e.tokenFingerprint),
    expires_at: stamp(e.expiresAt),
    caller_reason: orNull(e.callerReason),
    details: e.details === undefined ? null : ((JSON.parse(JSON.stringify(e.details) ?? 'null') as unknown) ?? null),
  };
}

function macOfValue(key: Buffer, value: unknown): string {
  return createHmac('sha256', key).update(TAG).update(stableJson(value)).digest('hex');
}

/** The MAC of an event about to be inserted. Pure: the same key and event give the same MAC. */
export function eventMac(key: Buffer, event: AuditEvent): string {
  return macOfValue(key, canonicalValueOf(event));
}

/** The MAC a row should carry, from its canonical text (format 1) as the database renders it. */
export function macOfCanonical(key: Buffer, canonical: string): string {
  return macOfValue(key, JSON.parse(canonical));
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
