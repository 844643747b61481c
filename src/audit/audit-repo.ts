import { createHash } from 'node:crypto';
import type { QueryOptions, Queryable } from '../store/store.js';
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
  /** An AWS caller's ARN as STS stated it, its account and role session name (010_audit_aws_callers.sql). */
  callerArn?: string | null;
  callerAccount?: string | null;
  callerSessionName?: string | null;
  /** The caller's W3C trace id and span, and its own x-request-id (013_audit_trace_context.sql). */
  traceId?: string | null;
  parentSpanId?: string | null;
  clientRequestId?: string | null;
  /** The access request (012_access_requests.sql) a grant was made under, or a request step is about. */
  accessRequestId?: string | null;
}

/** The trace columns of an event written for this request (all null when it carried no valid trace headers). */
export function traceFields(trace: { traceId: string | null; parentSpanId: string | null; clientRequestId: string | null } | null | undefined): Pick<AuditEvent, 'traceId' | 'parentSpanId' | 'clientRequestId'> {
  return { traceId: trace?.traceId ?? null, parentSpanId: trace?.parentSpanId ?? null, clientRequestId: trace?.clientRequestId ?? null };
}

/** The AWS caller columns of an event by this actor (all null for a JWT caller). */
export function awsCallerFields(actor: { aws?: { arn: string; account: string; sessionName?: string } } | null | undefined): Pick<AuditEvent, 'callerArn' | 'callerAccount' | 'callerSessionName'> {
  return { callerArn: actor?.aws?.arn ?? null, callerAccount: actor?.aws?.account ?? null, callerSessionName: actor?.aws?.sessionName ?? null };
}

const COLUMNS = [
  'event_id', 'occurred_at', 'event_type', 'outcome', 'reason', 'rule', 'request_id', 'actor_issuer', 'actor_subject',
  'actor_groups', 'source_ip', 'user_agent', 'database_name', 'access_level', 'db_user', 'role_arn', 'session_name',
  'source_identity', 'access_key_id', 'token_fingerprint', 'expires_at', 'caller_reason', 'details',
  'caller_arn', 'caller_account', 'caller_session_name', 'engine', 'trace_id', 'parent_span_id', 'client_request_id', 'access_request_id', 'event_mac',
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
    e.callerArn ?? null,
    e.callerAccount ?? null,
    e.callerSessionName ?? null,
    e.engine ?? null,
    e.traceId ?? null,
    e.parentSpanId ?? null,
    e.clientRequestId ?? null,
    e.accessRequestId ?? null,
    eventMac(macKey, e),
  ];
}

interface InsertStatement {
  sql: string;
  options: QueryOptions;
}

// Batches of up to this many rows (the group-commit writer's range) run as named prepared
// statements: parsing and planning a multi-row VALUES list was ~30 % of PostgreSQL's CPU per
// audit row (npm run bench:insert-shape). Larger, rare statements are not kept on every connection.
const PREPARED_MAX_ROWS = 64;

// One text per row count, built once: `VALUES ($1, …, $24), ($25, …)`. PostgreSQL types each
// parameter from its target column, as for a single row. The statement's name is derived from its
// text, so a name can never stand for two different texts.
const insertByRows = new Map<number, InsertStatement>();
function insertStatement(rows: number): InsertStatement {
  let statement = insertByRows.get(rows);
  if (!statement) {
    const tuples = Array.from({ length: rows }, (_, r) => `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`);
    const sql = `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
    const preparedName = `dab_audit_insert_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    statement = { sql, options: rows <= PREPARED_MAX_ROWS ? { preparedName } : {} };
    insertByRows.set(rows, statement);
  }
  return statement;
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
  const { sql, options } = insertStatement(events.length);
  const params = events.length === 1 ? auditEventParams(events[0] as AuditEvent, macKey) : events.flatMap((e) => auditEventParams(e, macKey));
  await db.query(sql, params, options);
}

/** Inserts one event (admin changes, archive records: inside their own transaction). */
export async function insertAuditEvent(db: Queryable, e: AuditEvent, macKey: Buffer): Promise<void> {
  await insertAuditEvents(db, [e], macKey);
}
