import type { Queryable } from '../store/store.js';
import { eventMac } from './event-mac.js';

export type AuditOutcome = 'issued' | 'denied' | 'failed' | 'succeeded';

/** One row of the append-only audit log. Never holds a secret: tokens appear only as fingerprints. */
export interface AuditEvent {
  eventId: string;
  occurredAt: Date;
  eventType: string;
  outcome: AuditOutcome;
  reason: string;
  rule?: string | null;
  requestId?: string | null;
  actor?: { issuer: string; subject: string; groups: readonly string[] } | null;
  sourceIp?: string | null;
  userAgent?: string | null;
  databaseName?: string | null;
  accessLevel?: string | null;
  dbUser?: string | null;
  roleArn?: string | null;
  sessionName?: string | null;
  sourceIdentity?: string | null;
  accessKeyId?: string | null;
  tokenFingerprint?: string | null;
  expiresAt?: Date | null;
  callerReason?: string | null;
  details?: unknown;
}

const COLUMNS = [
  'event_id', 'occurred_at', 'event_type', 'outcome', 'reason', 'rule', 'request_id', 'actor_issuer', 'actor_subject',
  'actor_groups', 'source_ip', 'user_agent', 'database_name', 'access_level', 'db_user', 'role_arn', 'session_name',
  'source_identity', 'access_key_id', 'token_fingerprint', 'expires_at', 'caller_reason', 'details', 'event_mac',
];
const INSERT_SQL = `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

/**
 * One event as the parameters of COLUMNS, its MAC last. Every writer of audit rows goes through
 * here, so every row dab writes carries a MAC under `macKey` (a key the database never holds).
 */
export function auditEventParams(e: AuditEvent, macKey: Buffer): unknown[] {
  return [
    e.eventId,
    e.occurredAt,
    e.eventType,
    e.outcome,
    e.reason,
    e.rule ?? null,
    e.requestId ?? null,
    e.actor?.issuer ?? null,
    e.actor?.subject ?? null,
    e.actor ? [...e.actor.groups] : null,
    e.sourceIp ?? null,
    e.userAgent ?? null,
    e.databaseName ?? null,
    e.accessLevel ?? null,
    e.dbUser ?? null,
    e.roleArn ?? null,
    e.sessionName ?? null,
    e.sourceIdentity ?? null,
    e.accessKeyId ?? null,
    e.tokenFingerprint ?? null,
    e.expiresAt ?? null,
    e.callerReason ?? null,
    e.details === undefined ? null : JSON.stringify(e.details),
    eventMac(macKey, e),
  ];
}

/** Inserts one event; when this resolves on an autocommit connection, the row is committed. */
export async function insertAuditEvent(db: Queryable, e: AuditEvent, macKey: Buffer): Promise<void> {
  await db.query(INSERT_SQL, auditEventParams(e, macKey));
}
