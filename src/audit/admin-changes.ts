import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller.js';
import type { RequestContext } from '../http/request-context.js';
import type { Queryable } from '../store/store.js';
import { awsCallerFields, insertAuditEvent, traceFields } from './audit-repo.js';

export interface AdminChange {
  eventType: string; // e.g. database.created, mapping.deleted
  databaseName?: string;
  target: string; // what changed: database name or mapping id
  before: unknown;
  after: unknown;
}

/** Records a DBA's change in the same transaction as the change itself: both commit, or neither. */
export async function recordAdminChange(tx: Queryable, actor: Caller, ctx: RequestContext, change: AdminChange, now: Date, macKey: Buffer): Promise<void> {
  await insertAuditEvent(tx, {
    eventId: randomUUID(),
    occurredAt: now,
    eventType: change.eventType,
    outcome: 'succeeded',
    reason: 'admin_change',
    rule: change.target,
    requestId: ctx.requestId,
    actor,
    sourceIp: ctx.sourceIp,
    userAgent: ctx.userAgent,
    databaseName: change.databaseName ?? null,
    details: { before: change.before ?? null, after: change.after ?? null },
    ...awsCallerFields(actor),
    ...traceFields(ctx.trace),
  }, macKey);
}
