import { awsCallerFields, insertAuditEvent } from '../audit/audit-repo.js';
import { uuidV7 } from '../audit/uuid-v7.js';
import type { Caller } from '../auth/caller.js';
import type { RequestContext } from '../http/request-context.js';
import { NOTIFIED_STEPS } from '../notify/notify-event.js';
import type { Notifier } from '../notify/webhook-notifier.js';
import type { Queryable } from '../store/store.js';
import { toAccessRequest, type RequestRow } from './access-requests-repo.js';

const NOTIFIED = new Set<string>(NOTIFIED_STEPS);

export interface StepDeps {
  macKey: Buffer;
  notifier: Pick<Notifier, 'enqueue'>;
}

export interface Step {
  /** created, approval_recorded, approved, denied, cancelled, revoked, expired, ended, break_glass, reviewed */
  step: string;
  actor: Caller | null;
  ctx: RequestContext | null;
  /** The human reason of this step: the request's, the approver's note, the denial's… */
  reason: string | null;
  at: Date;
}

/**
 * Records one step of a request in the change's own transaction: its audit row (actor, request id,
 * reason) and, for the steps receivers care about, a webhook delivery. All commit, or none.
 */
export async function recordStep(tx: Queryable, deps: StepDeps, row: RequestRow, s: Step): Promise<void> {
  const eventType = `access_request.${s.step}`;
  await insertAuditEvent(tx, {
    eventId: uuidV7(),
    occurredAt: s.at,
    eventType,
    outcome: 'succeeded',
    reason: s.step,
    rule: `policy:${row.policy_name}`,
    requestId: s.ctx?.requestId ?? null,
    actor: s.actor,
    sourceIp: s.ctx?.sourceIp ?? null,
    userAgent: s.ctx?.userAgent ?? null,
    databaseName: row.database_name,
    accessLevel: row.access_level,
    expiresAt: row.window_ends_at ?? null,
    callerReason: s.reason,
    details: {
      requestVersion: row.version,
      requester: { issuer: row.requester_issuer, subject: row.requester_subject },
      breakGlass: row.break_glass,
      durationSeconds: row.duration_seconds,
      approvals: row.approvals.map((a) => ({ issuer: a.issuer, subject: a.subject, at: a.at })),
      approvalsRequired: row.approvals_required,
    },
    accessRequestId: row.id,
    ...awsCallerFields(s.actor),
  }, deps.macKey);
  if (NOTIFIED.has(s.step)) {
    await deps.notifier.enqueue(tx, {
      type: eventType,
      at: s.at.toISOString(),
      actor: s.actor ? { issuer: s.actor.issuer, subject: s.actor.subject } : null,
      reason: s.reason,
      request: toAccessRequest(row, s.at),
    });
  }
}

/** A refused step (self-approval, not an approver, stale version…): on the record as a denial. */
export async function recordRefusal(db: Queryable, macKey: Buffer, row: RequestRow | undefined, requestId: string | null, s: Step & { code: string }): Promise<void> {
  await insertAuditEvent(db, {
    eventId: uuidV7(),
    occurredAt: s.at,
    eventType: `access_request.${s.step}_refused`,
    outcome: 'denied',
    reason: s.code,
    rule: row ? `policy:${row.policy_name}` : null,
    requestId: s.ctx?.requestId ?? null,
    actor: s.actor,
    sourceIp: s.ctx?.sourceIp ?? null,
    userAgent: s.ctx?.userAgent ?? null,
    databaseName: row?.database_name ?? null,
    accessLevel: row?.access_level ?? null,
    callerReason: s.reason,
    details: row ? { requestVersion: row.version } : null,
    accessRequestId: requestId,
    ...awsCallerFields(s.actor),
  }, macKey);
}
