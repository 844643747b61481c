import { TOKEN_LIFETIME_SECONDS } from '../aws/session-cache.js';
import type { Queryable } from '../store/store.js';
import type { Keyset } from './audit-cursor.js';
import type { AuditEventJson, EventFilter, Order } from './audit-query-schema.js';

/**
 * An event as read for the API: its JSON built by PostgreSQL (one definition of the shape, and
 * no per-column parsing in Node, which is what keeps exports fast), plus its keyset position.
 */
export interface EventRow<E = AuditEventJson> {
  id: string;
  /** occurred_at to the microsecond: a JS Date would round it and skip or repeat rows. */
  position_at: string;
  rule: string | null;
  event: E;
}

const utc = (column: string, precision: 'MS' | 'US') => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.${precision}"Z"')`;

// The AuditEvent schema's shape, in its order. LATERAL subqueries without FROM are flattened by
// the planner into plain projections; row_to_json writes compact JSON with these keys.
const EVENT_FROM = `audit_events e
  CROSS JOIN LATERAL (SELECT e.actor_issuer AS issuer, e.actor_subject AS subject, coalesce(e.actor_groups, '{}'::text[]) AS groups) a
  CROSS JOIN LATERAL (SELECT e.id::text AS "id", e.event_id AS "eventId", ${utc('e.occurred_at', 'MS')} AS "occurredAt",
    e.event_type AS "eventType", e.outcome AS "outcome", e.reason AS "reason", e.rule AS "rule", e.request_id AS "requestId",
    CASE WHEN e.actor_issuer IS NOT NULL AND e.actor_subject IS NOT NULL THEN row_to_json(a) END AS "actor",
    e.source_ip AS "sourceIp", e.user_agent AS "userAgent", e.database_name AS "database", e.access_level AS "level",
    e.engine AS "engine", e.db_user AS "dbUser", e.role_arn AS "roleArn", e.session_name AS "sessionName", e.source_identity AS "sourceIdentity",
    e.access_key_id AS "accessKeyId", e.token_fingerprint AS "tokenFingerprint", ${utc('e.expires_at', 'MS')} AS "expiresAt",
    e.caller_reason AS "callerReason", e.details AS "details",
    CASE WHEN e.caller_arn IS NOT NULL THEN json_build_object('arn', e.caller_arn, 'account', e.caller_account, 'sessionName', e.caller_session_name) END AS "awsCaller",
    e.trace_id AS "traceId", e.parent_span_id AS "parentSpanId", e.client_request_id AS "clientRequestId",
    e.access_request_id AS "accessRequestId") v`;

/** json: parsed objects (API answers); text: the JSON as PostgreSQL wrote it (NDJSON lines). */
const eventColumns = (as: 'json' | 'text' = 'json') =>
  `e.id::text AS id, ${utc('e.occurred_at', 'US')} AS position_at, e.rule, row_to_json(v)${as === 'text' ? '::text' : ''} AS event`;

// One condition per filter, each an equality (or range) on the column the migration 002 indexes
// lead with, so the planner can pick the most selective index and walk it in order.
const CONDITIONS: { [K in keyof Required<EventFilter>]: string } = {
  from: 'e.occurred_at >= $::timestamptz',
  to: 'e.occurred_at < $::timestamptz',
  eventType: 'e.event_type = $',
  outcome: 'e.outcome = $',
  issuer: 'e.actor_issuer = $',
  subject: 'e.actor_subject = $',
  group: 'e.actor_groups @> ARRAY[$::text]',
  database: 'e.database_name = $',
  level: 'e.access_level = $',
  dbUser: 'e.db_user = $',
  grantId: 'e.event_id = $::uuid',
  requestId: 'e.request_id = $',
  // Served by the partial hash index of 013_audit_trace_context.sql.
  traceId: 'e.trace_id = $',
};

export interface PageQuery {
  filter: EventFilter;
  /** text: each event as a JSON string, for streaming out unchanged. */
  as?: 'json' | 'text';
  order: Order;
  limit: number;
  after?: Keyset;
  /** Upper bound on id (exports): a fixed end, so an ascending export cannot chase new events forever. */
  maxId?: string;
}

export async function listEvents<E = AuditEventJson>(db: Queryable, q: PageQuery): Promise<EventRow<E>[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (sql: string, ...values: unknown[]) => {
    where.push(sql.replace(/\$/g, () => `$${params.push(values.shift())}`));
  };
  for (const [key, sql] of Object.entries(CONDITIONS) as [keyof EventFilter, string][]) {
    const value = q.filter[key];
    if (value !== undefined) bind(sql, value);
  }
  const direction = q.order === 'desc' ? 'DESC' : 'ASC';
  if (q.after) bind(`(e.occurred_at, e.id) ${q.order === 'desc' ? '<' : '>'} ($::timestamptz, $::bigint)`, q.after.at, q.after.id);
  if (q.maxId !== undefined) bind('e.id <= $::bigint', q.maxId);
  const { rows } = await db.query<EventRow<E>>(
    `SELECT ${eventColumns(q.as)} FROM ${EVENT_FROM}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY e.occurred_at ${direction}, e.id ${direction}
     LIMIT ${Number(q.limit)}`,
    params,
  );
  return rows;
}

/** The highest id at this moment: the fixed end of an export. */
export async function maxEventId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ max: string | null }>('SELECT max(id)::text AS max FROM audit_events');
  return rows[0]?.max ?? '0';
}

export interface HolderRow extends EventRow {
  mapping_event_id: string | null;
  mapping_recorded_at: string | null;
  mapping_recorded: unknown;
}

/**
 * Issued grants for this database and DB user whose validity [occurred_at, expires_at) covers `at`,
 * each with the latest mapping.created/updated event for its rule at or before the grant. A token
 * never outlives issue + 900 s, so occurred_at is also bounded below: an index range of 15 minutes.
 */
export async function findHolders(db: Queryable, database: string, dbUser: string, at: string, limit: number): Promise<HolderRow[]> {
  const { rows } = await db.query<HolderRow>(
    `SELECT ${eventColumns()}, m.event_id::text AS mapping_event_id, ${utc('m.occurred_at', 'MS')} AS mapping_recorded_at, m.details -> 'after' AS mapping_recorded
     FROM ${EVENT_FROM}
     LEFT JOIN LATERAL (
       SELECT c.event_id, c.occurred_at, c.details FROM audit_events c
       WHERE c.event_type IN ('mapping.created', 'mapping.updated') AND c.rule = e.rule AND c.occurred_at <= e.occurred_at
       ORDER BY c.occurred_at DESC, c.id DESC LIMIT 1
     ) m ON true
     WHERE e.db_user = $2 AND e.database_name = $1 AND e.outcome = 'issued'
       AND e.occurred_at <= $3::timestamptz AND e.occurred_at > $3::timestamptz - make_interval(secs => $4)
       AND e.expires_at > $3::timestamptz
     ORDER BY e.occurred_at, e.id
     LIMIT ${Number(limit)}`,
    [database, dbUser, at, TOKEN_LIFETIME_SECONDS],
  );
  return rows;
}

/**
 * The steps of these access requests (created, approved, break-glass, reviewed, …), oldest first:
 * the approval chain "who held it?" shows next to a grant made under a request's window.
 */
export async function findRequestChains(db: Queryable, requestIds: string[]): Promise<EventRow[]> {
  if (requestIds.length === 0) return [];
  const { rows } = await db.query<EventRow>(
    `SELECT ${eventColumns()} FROM ${EVENT_FROM}
     WHERE e.access_request_id = ANY($1::text[]) AND e.event_type LIKE 'access_request.%'
     ORDER BY e.occurred_at, e.id LIMIT 1000`,
    [requestIds],
  );
  return rows;
}

/** Grants whose token fingerprint is one of these (a token may be presented raw or URL-encoded). */
export async function findByFingerprints(db: Queryable, fingerprints: string[], limit: number): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${eventColumns()} FROM ${EVENT_FROM}
     WHERE e.token_fingerprint IS NOT NULL AND e.token_fingerprint = ANY($1::text[])
     ORDER BY e.occurred_at, e.id LIMIT ${Number(limit)}`,
    [fingerprints],
  );
  return rows;
}

/** Events of one STS session (its access key id), oldest first: joins CloudTrail's AssumeRole records. */
export async function findByAccessKeyId(db: Queryable, accessKeyId: string, limit: number): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${eventColumns()} FROM ${EVENT_FROM} WHERE e.access_key_id = $1 ORDER BY e.occurred_at, e.id LIMIT ${Number(limit)}`,
    [accessKeyId],
  );
  return rows;
}
