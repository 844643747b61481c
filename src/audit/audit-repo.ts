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
  /** The database's engine (011_database_engines.sql); null on rows that are not about one. */
  engine?: string | null;
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
  'source_identity', 'access_key_id', 'token_fingerprint', 'expires_at', 'caller_reason', 'details', 'engine', 'event_mac',
];

/**
 * One event as the parameters of COLUMNS, its MAC last: the one place an AuditEvent becomes SQL
 * parameters, for the single-row and the batched INSERT alike. So every row dab writes carries a
 * MAC under `macKey` (a key the database never holds).
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
    e.engine ?? null,
    eventMac(macKey, e),
  ];
}

// One text per row count, built once: `VALUES ($1, …, $23), ($24, …)`. PostgreSQL types each
// parameter from its target column, as for a single row.
const insertSqlByRows = new Map<number, string>();
function insertSql(rows: number): string {
  let sql = insertSqlByRows.get(rows);
  if (!sql) {
    const tuples = Array.from({ length: rows }, (_, r) => `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`);
    sql = `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
    insertSqlByRows.set(rows, sql);
  }
  return sql;
}

/** Most rows one INSERT may carry: PostgreSQL's wire protocol allows 65535 parameters. */
export const MAX_ROWS_PER_INSERT = Math.floor(65535 / COLUMNS.length);

/**
 * Inserts these events in one statement: all of them or none. On an autocommit connection the
 * statement is its own transaction, so when this resolves every row is committed.
 */
export async function insertAuditEvents(db: Queryable, events: readonly AuditEvent[], macKey: Buffer): Promise<void> {
  if (events.length === 0) return;
  if (events.length > MAX_ROWS_PER_INSERT) throw new Error(`at most ${MAX_ROWS_PER_INSERT} audit rows per INSERT`);
  await db.query(insertSql(events.length), events.length === 1 ? auditEventParams(events[0] as AuditEvent, macKey) : events.flatMap((e) => auditEventParams(e, macKey)));
}

/** Inserts one event (admin changes, archive records: inside their own transaction). */
export async function insertAuditEvent(db: Queryable, e: AuditEvent, macKey: Buffer): Promise<void> {
  await insertAuditEvents(db, [e], macKey);
}
