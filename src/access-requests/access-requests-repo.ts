import type { Queryable } from '../store/store.js';
import type { AccessRequest, Approval, OpenRequest, RequestState, Who } from './access-request-schema.js';

export interface RequestRow {
  id: string;
  requester_issuer: string;
  requester_subject: string;
  requester_groups: string[];
  database_name: string;
  access_level: string;
  reason: string;
  duration_seconds: number;
  break_glass: boolean;
  policy_name: string;
  approvals_required: number;
  state: 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired' | 'revoked';
  version: number;
  created_at: Date;
  pending_until: Date;
  approvals: Approval[];
  window_starts_at: Date | null;
  window_ends_at: Date | null;
  closed_at: Date | null;
  closed_by: Who | null;
  close_reason: string | null;
  reviewed_at: Date | null;
  reviewed_by: Who | null;
  review_note: string | null;
  /** When the sweep recorded the window's end (access_request.ended); null until then. */
  end_recorded_at: Date | null;
}

const iso = (d: Date) => new Date(d).toISOString();

/** The state a reader sees: the stored one, with the clock's part (expired, active, ended) applied. */
export function effectiveState(row: RequestRow, now: Date): RequestState {
  const t = now.getTime();
  if (row.state === 'pending') return new Date(row.pending_until).getTime() <= t ? 'expired' : 'pending';
  if (row.state === 'approved') return row.window_ends_at && new Date(row.window_ends_at).getTime() > t ? 'active' : 'ended';
  return row.state;
}

export function toAccessRequest(row: RequestRow, now: Date): AccessRequest {
  return {
    id: row.id,
    requester: { issuer: row.requester_issuer, subject: row.requester_subject },
    database: row.database_name,
    access: row.access_level,
    reason: row.reason,
    durationSeconds: row.duration_seconds,
    breakGlass: row.break_glass,
    policy: row.policy_name,
    approvalsRequired: row.approvals_required,
    state: effectiveState(row, now),
    version: row.version,
    createdAt: iso(row.created_at),
    pendingUntil: iso(row.pending_until),
    approvals: row.approvals,
    ...(row.window_starts_at ? { windowStartsAt: iso(row.window_starts_at) } : {}),
    ...(row.window_ends_at ? { windowEndsAt: iso(row.window_ends_at) } : {}),
    ...(row.closed_at ? { closedAt: iso(row.closed_at) } : {}),
    ...(row.closed_by ? { closedBy: row.closed_by } : {}),
    ...(row.close_reason ? { closeReason: row.close_reason } : {}),
    ...(row.break_glass ? { review: row.reviewed_at ? ('reviewed' as const) : ('unreviewed' as const) } : {}),
    ...(row.reviewed_at ? { reviewedAt: iso(row.reviewed_at) } : {}),
    ...(row.reviewed_by ? { reviewedBy: row.reviewed_by } : {}),
    ...(row.review_note ? { reviewNote: row.review_note } : {}),
  };
}

export interface NewRequest {
  id: string;
  requester: { issuer: string; subject: string; groups: readonly string[] };
  database: string;
  level: string;
  reason: string;
  durationSeconds: number;
  breakGlass: boolean;
  policy: string;
  approvalsRequired: number;
  createdAt: Date;
  pendingUntil: Date;
  /** Break-glass opens its window at once. */
  window?: { startsAt: Date; endsAt: Date };
}

export async function insertRequest(db: Queryable, r: NewRequest): Promise<RequestRow> {
  const { rows } = await db.query<RequestRow>(
    `INSERT INTO access_requests (id, requester_issuer, requester_subject, requester_groups, database_name, access_level, reason,
       duration_seconds, break_glass, policy_name, approvals_required, state, created_at, pending_until, window_starts_at, window_ends_at)
     VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING *`,
    [r.id, r.requester.issuer, r.requester.subject, [...r.requester.groups], r.database, r.level, r.reason, r.durationSeconds, r.breakGlass,
      r.policy, r.approvalsRequired, r.window ? 'approved' : 'pending', r.createdAt, r.pendingUntil, r.window?.startsAt ?? null, r.window?.endsAt ?? null],
  );
  return rows[0] as RequestRow;
}

export async function findRequest(db: Queryable, id: string, forUpdate = false): Promise<RequestRow | undefined> {
  const { rows } = await db.query<RequestRow>(`SELECT * FROM access_requests WHERE id = $1::uuid${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0];
}

/** Sets these columns and bumps the version; the row as it now is. */
export async function updateRequest(db: Queryable, id: string, set: Partial<Record<'state' | 'approvals' | 'window_starts_at' | 'window_ends_at' | 'closed_at' | 'closed_by' | 'close_reason' | 'reviewed_at' | 'reviewed_by' | 'review_note', unknown>>): Promise<RequestRow> {
  const entries = Object.entries(set);
  const json = new Set(['approvals', 'closed_by', 'reviewed_by']);
  const assignments = entries.map(([k], i) => `${k} = $${i + 2}${json.has(k) ? '::jsonb' : ''}`);
  const { rows } = await db.query<RequestRow>(
    `UPDATE access_requests SET ${assignments.join(', ')}, version = version + 1 WHERE id = $1::uuid RETURNING *`,
    [id, ...entries.map(([k, v]) => (json.has(k) && v !== null ? JSON.stringify(v) : v))],
  );
  return rows[0] as RequestRow;
}

export interface RequestFilter {
  requester?: { issuer: string; subject: string };
  storedStates?: RequestRow['state'][];
  breakGlass?: boolean;
  review?: 'unreviewed' | 'reviewed';
  limit: number;
}

export async function listRequests(db: Queryable, f: RequestFilter): Promise<RequestRow[]> {
  const { rows } = await db.query<RequestRow>(
    `SELECT * FROM access_requests
     WHERE ($1::text IS NULL OR (requester_issuer = $1 AND requester_subject = $2))
       AND ($3::text[] IS NULL OR state = ANY($3::text[]))
       AND ($4::boolean IS NULL OR break_glass = $4)
       AND ($5::text IS NULL OR (break_glass AND (reviewed_at IS NULL) = ($5 = 'unreviewed')))
     ORDER BY created_at DESC, id LIMIT ${Number(f.limit)}`,
    [f.requester?.issuer ?? null, f.requester?.subject ?? null, f.storedStates ?? null, f.breakGlass ?? null, f.review ?? null],
  );
  return rows;
}

/** Requests that can still decide something: pending ones and approved windows not yet over. */
export async function listOpenRequests(db: Queryable): Promise<OpenRequest[]> {
  const { rows } = await db.query<RequestRow>(
    `SELECT * FROM access_requests WHERE (state = 'pending' AND pending_until > now()) OR (state = 'approved' AND window_ends_at > now())`,
  );
  return rows.map((r) => ({
    id: r.id,
    issuer: r.requester_issuer,
    subject: r.requester_subject,
    database: r.database_name,
    level: r.access_level,
    state: r.state as 'pending' | 'approved',
    pendingUntil: new Date(r.pending_until).getTime(),
    ...(r.window_starts_at ? { windowStartsAt: new Date(r.window_starts_at).getTime() } : {}),
    ...(r.window_ends_at ? { windowEndsAt: new Date(r.window_ends_at).getTime() } : {}),
    approvedBy: r.approvals.map((a) => a.subject),
    breakGlass: r.break_glass,
  }));
}

/** Marks pending requests whose time ran out as expired (once: the UPDATE claims each row). */
export async function expireRequests(db: Queryable, now: Date): Promise<RequestRow[]> {
  // A statement-level trigger fires even when an UPDATE matches nothing, and this runs every poll on
  // every instance: look first, so an idle sweep never bumps access_model_version (and reloads).
  const due = await db.query('SELECT 1 FROM access_requests WHERE state = $1 AND pending_until <= $2 LIMIT 1', ['pending', now]);
  if (due.rows.length === 0) return [];
  const { rows } = await db.query<RequestRow>(
    `UPDATE access_requests SET state = 'expired', closed_at = $1, version = version + 1
     WHERE id IN (SELECT id FROM access_requests WHERE state = 'pending' AND pending_until <= $1 ORDER BY pending_until LIMIT 100 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now],
  );
  return rows;
}

/** Claims approved windows whose end has passed and that are not yet on the record (once each). */
export async function claimEndedWindows(db: Queryable, now: Date): Promise<RequestRow[]> {
  // As expireRequests: look first, so an idle sweep never touches the table (nor bumps the model).
  const due = await db.query("SELECT 1 FROM access_requests WHERE state = 'approved' AND end_recorded_at IS NULL AND window_ends_at <= $1 LIMIT 1", [now]);
  if (due.rows.length === 0) return [];
  // The version stays: the request did not change, its window ran out as approved.
  const { rows } = await db.query<RequestRow>(
    `UPDATE access_requests SET end_recorded_at = $1
     WHERE id IN (SELECT id FROM access_requests WHERE state = 'approved' AND end_recorded_at IS NULL AND window_ends_at <= $1 ORDER BY window_ends_at LIMIT 100 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now],
  );
  return rows;
}
