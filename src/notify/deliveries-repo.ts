import { randomUUID } from 'node:crypto';
import type { Queryable } from '../store/store.js';

export interface DeliveryRow {
  id: string;
  webhook: string;
  event_type: string;
  access_request_id: string | null;
  payload: unknown;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  delivered_at: Date | null;
  given_up_at: Date | null;
  created_at: Date;
}

/** One outbox row per webhook, in the caller's transaction: committed with the change, or not at all. */
export async function enqueueDeliveries(db: Queryable, webhooks: readonly string[], eventType: string, requestId: string | null, payload: unknown, now: Date): Promise<void> {
  for (const webhook of webhooks) {
    await db.query(
      `INSERT INTO notification_deliveries (id, webhook, event_type, access_request_id, payload, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $6)`,
      [randomUUID(), webhook, eventType, requestId, JSON.stringify(payload), now],
    );
  }
}

/**
 * Claims due deliveries: pushes their next attempt past the lease, so another replica polling at
 * the same time skips them (SKIP LOCKED) and a crash mid-delivery only delays a retry.
 */
export async function claimDue(db: Queryable, now: Date, leaseMs: number, limit: number): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>(
    `UPDATE notification_deliveries SET next_attempt_at = $2
     WHERE id IN (SELECT id FROM notification_deliveries
                  WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT ${Number(limit)} FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now, new Date(now.getTime() + leaseMs)],
  );
  return rows;
}

export async function markDelivered(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('UPDATE notification_deliveries SET delivered_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1', [id, now]);
}

/** A failed attempt: retry at `retryAt`, or give up (retryAt null). */
export async function markFailed(db: Queryable, id: string, error: string, retryAt: Date | null, now: Date): Promise<void> {
  await db.query(
    `UPDATE notification_deliveries SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = coalesce($3, next_attempt_at), given_up_at = CASE WHEN $3::timestamptz IS NULL THEN $4::timestamptz END
     WHERE id = $1`,
    [id, error.slice(0, 500), retryAt, now],
  );
}

export async function countUndelivered(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM notification_deliveries WHERE delivered_at IS NULL AND given_up_at IS NULL');
  return Number(rows[0]?.n ?? 0);
}
