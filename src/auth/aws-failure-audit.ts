import type { FastifyRequest } from 'fastify';
import { insertAuditEvent, traceFields } from '../audit/audit-repo.js';
import { uuidV7 } from '../audit/uuid-v7.js';
import { requestContext } from '../http/request-context.js';
import type { Store } from '../store/store.js';

export interface StsFailureAuditDeps {
  store: Store;
  macKey: Buffer;
  now: () => Date;
  log: { warn(obj: object, msg: string): void };
  /** At most one row per failure reason per this many seconds; metrics count every failure. */
  windowSeconds: number;
}

/**
 * STS failing to verify an AWS proof (throttled, down, a bad answer) is on record in the audit log:
 * an `auth.sts_failed` row at the first failure of each reason per window (an outage must not flood
 * the log with one row per retry). dab_auth_failures_total and dab_sts_get_caller_identity_total
 * count each one. Never blocks the answer: the caller gets its 502/503 whether or not the row lands.
 */
export function createStsFailureAudit(deps: StsFailureAuditDeps): (reason: string, request: FastifyRequest) => void {
  const lastWritten = new Map<string, number>();
  return function auditStsFailure(reason, request) {
    const at = deps.now();
    const last = lastWritten.get(reason);
    if (last !== undefined && at.getTime() - last < deps.windowSeconds * 1000) return;
    lastWritten.set(reason, at.getTime());
    const ctx = requestContext(request);
    insertAuditEvent(deps.store, {
      eventId: uuidV7(),
      occurredAt: at,
      eventType: 'auth.sts_failed',
      outcome: 'failed',
      reason,
      requestId: ctx.requestId,
      sourceIp: ctx.sourceIp,
      userAgent: ctx.userAgent,
      ...traceFields(ctx.trace),
      details: { verifying: 'aws_proof', windowSeconds: deps.windowSeconds },
    }, deps.macKey).catch((err: Error) => deps.log.warn({ err: { message: err.message }, reason }, 'STS failure audit row not written'));
  };
}
