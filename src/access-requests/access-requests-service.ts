import { randomUUID } from 'node:crypto';
import type { Refused } from '../abuse/refusal-audit.js';
import { createTokenBuckets, type BucketRule } from '../abuse/token-buckets.js';
import { matchesPrincipal, type Caller } from '../auth/caller.js';
import type { PrincipalRule } from '../config/config-schema.js';
import type { AccessLevel } from '../databases/database-schema.js';
import type { Metrics } from '../http/metrics.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import type { AccessModelCache } from '../mappings/access-model-cache.js';
import { decideAccess } from '../mappings/decide-access.js';
import type { Notifier } from '../notify/webhook-notifier.js';
import type { Queryable, Store } from '../store/store.js';
import type { AccessRequest, Requestable, ApproveBody, CancelBody, CreateAccessRequest, DenyBody, ListQuery, RequestState, ReviewBody, RevokeBody } from './access-request-schema.js';
import { claimEndedWindows, effectiveState, expireRequests, findRequest, insertRequest, listRequests, toAccessRequest, updateRequest, type RequestRow } from './access-requests-repo.js';
import { findRequestPolicy, listRequestPolicies } from './request-policies-repo.js';
import { approvalsRequired, isApprover, pendingSeconds, policyFor, requestableBy } from './request-policy.js';
import { checkVersion, Refusal, requireState } from './request-refusals.js';
import { recordRefusal, recordStep, type Step } from './request-steps.js';

export interface AccessRequestsDeps {
  store: Store;
  now: () => Date;
  access: AccessModelCache;
  notifier: Pick<Notifier, 'enqueue' | 'kick'>;
  macKey: Buffer;
  metrics: Metrics;
  /** Filing requests, per caller: a flood is a 429 with Retry-After, not a page to every approver. */
  createRule: BucketRule;
  /** Told of each refused flood (rate_limit.started / summary audit rows, src/abuse/refusal-audit.ts). */
  onFlood?: (who: Refused) => void;
  /** DBAs and auditors see every request; DBAs may revoke any window. */
  admins: readonly PrincipalRule[];
  auditors: readonly PrincipalRule[];
}

export type AccessRequestsService = ReturnType<typeof createAccessRequestsService>;

const same = (c: Caller, r: RequestRow) => c.issuer === r.requester_issuer && c.subject === r.requester_subject;
const who = (c: Caller) => ({ issuer: c.issuer, subject: c.subject });
// Same answer for "no such database", "no such level" and "no policy for you": requests cannot enumerate databases.
const notAllowed = (level: string, db: string) => new AppError('request_not_allowed', `no request policy lets you request ${level} on "${db}"`);

/** Stored states that can show as each state a reader filters on. */
const STORED: Record<RequestState, RequestRow['state'][]> = {
  pending: ['pending'], expired: ['pending', 'expired'], active: ['approved'], ended: ['approved'],
  denied: ['denied'], cancelled: ['cancelled'], revoked: ['revoked'],
};

/**
 * Just-in-time access: requests, approvals (naming the version read), denials, cancels, revokes,
 * break-glass and its review. Each step is one transaction with its audit row and its webhook
 * deliveries; changes are enforced at once here (invalidate) and elsewhere through the trigger's
 * access_model_version bump.
 */
export function createAccessRequestsService(deps: AccessRequestsDeps) {
  const { store, now, access, notifier, macKey } = deps;
  const buckets = createTokenBuckets({ maxKeys: 100_000 });
  const privileged = (c: Caller) => [...deps.admins, ...deps.auditors].some((r) => matchesPrincipal(c, r));

  /** Runs a step; a Refusal thrown inside is audited as a denial, then answered. */
  async function change<T>(step: string, caller: Caller, ctx: RequestContext, id: string | null, reason: string | null, fn: (tx: Queryable, at: Date) => Promise<T>): Promise<T> {
    try {
      return await store.transaction((tx) => fn(tx, now()));
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      await recordRefusal(store, macKey, err.row, id, { step, actor: caller, ctx, reason, at: now(), code: err.code });
      throw err.error;
    } finally {
      access.invalidate();
      notifier.kick();
    }
  }

  async function locked(tx: Queryable, id: string): Promise<RequestRow> {
    const row = await findRequest(tx, id, true);
    if (!row) throw new AppError('not_found', `no access request ${id}`);
    return row;
  }

  /** Approvers of the request's policy (as it is now), never the requester. */
  async function asApprover(tx: Queryable, caller: Caller, row: RequestRow, verb: string): Promise<void> {
    if (same(caller, row)) throw new Refusal(new AppError('self_approval', `you cannot ${verb} your own request`), 'self_approval', row);
    const policy = (await findRequestPolicy(tx, row.policy_name, true))?.policy;
    if (!policy || !isApprover(policy, caller)) {
      if (verb === 'revoke' && deps.admins.some((r) => matchesPrincipal(caller, r))) return;
      throw new Refusal(new AppError('not_an_approver', `you are not an approver of policy "${row.policy_name}"${policy ? '' : ' (it no longer exists)'}`), 'not_an_approver', row);
    }
  }

  const step = (s: string, actor: Caller | null, ctx: RequestContext | null, reason: string | null, at: Date): Step => ({ step: s, actor, ctx, reason, at });

  return {
    async create(caller: Caller, ctx: RequestContext, body: CreateAccessRequest): Promise<AccessRequest> {
      const key = `access_request\0${caller.issuer}\0${caller.subject}`;
      const taken = buckets.take(key, deps.createRule);
      if (!taken.ok) {
        deps.metrics.rateLimited.inc({ tier: 'access_request', key: 'identity' });
        deps.onFlood?.({ key, tier: 'access_request', actor: caller, sourceIp: ctx.sourceIp, userAgent: ctx.userAgent, requestId: ctx.requestId });
        throw new AppError('rate_limited', `too many access requests; retry after ${taken.retryAfterSeconds} s`, { retryAfterSeconds: taken.retryAfterSeconds });
      }
      const breakGlass = body.breakGlass === true;
      // Read before the transaction: the model comes from the store too (one connection when embedded).
      const model = await access.current();
      const created = await change(breakGlass ? 'break_glass' : 'created', caller, ctx, null, body.reason, async (tx, at) => {
        const db = model.databases.get(body.database);
        if (!db || !db.levels[body.access]) throw new Refusal(notAllowed(body.access, body.database), 'request_not_allowed');
        const policy = policyFor(await listRequestPolicies(tx), caller, db, body.access);
        if (!policy) throw new Refusal(notAllowed(body.access, body.database), 'request_not_allowed');
        if (breakGlass && !policy.breakGlass) throw new Refusal(new AppError('break_glass_not_allowed', `policy "${policy.name}" does not allow break-glass`), 'break_glass_not_allowed');
        const max = breakGlass ? (policy.breakGlass as { maxDurationSeconds: number }).maxDurationSeconds : policy.maxDurationSeconds;
        if (body.durationSeconds > max) throw new Refusal(new AppError('duration_too_long', `durationSeconds ${body.durationSeconds} is over the maximum of policy "${policy.name}" (${max} s${breakGlass ? ' for break-glass' : ''})`), 'duration_too_long');
        const held = decideAccess({ caller, level: body.access as AccessLevel, database: db.name, reason: body.reason, model, now: at });
        if (held.allowed) {
          const through = held.accessRequest ? `request ${held.accessRequest.id} until ${held.accessRequest.endsAt}` : `mapping ${model.mappings.find((m) => m.id === held.rule)?.name ?? held.rule}`;
          throw new Refusal(new AppError('access_already_held', `you already hold ${body.access} on "${db.name}" through ${through}`), 'access_already_held');
        }
        if (held.reason === 'request_pending') throw new Refusal(new AppError('conflict', `your request ${held.rule?.slice('request:'.length)} for ${body.access} on "${db.name}" is already pending`), 'request_pending');
        const row = await insertRequest(tx, {
          id: randomUUID(), requester: caller, database: db.name, level: body.access, reason: body.reason, durationSeconds: body.durationSeconds,
          breakGlass, policy: policy.name, approvalsRequired: breakGlass ? 0 : approvalsRequired(policy), createdAt: at,
          pendingUntil: new Date(at.getTime() + pendingSeconds(policy) * 1000),
          ...(breakGlass ? { window: { startsAt: at, endsAt: new Date(at.getTime() + body.durationSeconds * 1000) } } : {}),
        });
        await recordStep(tx, deps, row, step(breakGlass ? 'break_glass' : 'created', caller, ctx, body.reason, at));
        return toAccessRequest(row, at);
      });
      return created;
    },

    async get(caller: Caller, id: string): Promise<AccessRequest> {
      const row = await findRequest(store, id);
      if (!row || !(await visible(caller, row))) throw new AppError('not_found', `no access request ${id}`);
      return toAccessRequest(row, now());
    },

    async list(caller: Caller, q: ListQuery): Promise<{ items: AccessRequest[] }> {
      const at = now();
      const limit = q.limit ?? 100;
      const mine = q.mine === 'true' || !privileged(caller);
      // Visibility and approvability are decided per row here, so those reads fetch the most rows.
      const perRow = q.approvable === 'true' || (mine && q.mine !== 'true');
      const rows = await listRequests(store, {
        ...(q.mine === 'true' ? { requester: who(caller) } : {}),
        ...(q.state ? { storedStates: STORED[q.state] } : {}),
        ...(q.breakGlass ? { breakGlass: q.breakGlass === 'true' } : {}),
        ...(q.review ? { review: q.review } : {}),
        limit: perRow ? 500 : limit,
      });
      const items: AccessRequest[] = [];
      for (const row of rows) {
        if (q.state && effectiveState(row, at) !== q.state) continue;
        if (q.approvable === 'true' && !(await mayDecide(caller, row))) continue;
        if (mine && q.mine !== 'true' && !(await visible(caller, row))) continue;
        items.push(toAccessRequest(row, at));
        if (items.length >= limit) break;
      }
      return { items };
    },

    /** The databases and levels a policy lets this caller request, with the policy's limits. */
    async requestable(caller: Caller): Promise<{ items: Requestable[] }> {
      const model = await access.current();
      return { items: requestableBy(await listRequestPolicies(store), model.databases.values(), caller) };
    },

    approve: (caller: Caller, ctx: RequestContext, id: string, body: ApproveBody) =>
      change('approve', caller, ctx, id, body.note ?? null, async (tx, at) => {
        const row = await locked(tx, id);
        await asApprover(tx, caller, row, 'approve');
        requireState(row, at, ['pending'], 'approved');
        checkVersion(row, body.version);
        if (row.approvals.some((a) => a.issuer === caller.issuer && a.subject === caller.subject)) {
          throw new Refusal(new AppError('conflict', `you already approved request ${id}; it needs another approver`), 'already_approved', row);
        }
        const approvals = [...row.approvals, { ...who(caller), at: at.toISOString(), version: body.version, ...(body.note ? { note: body.note } : {}) }];
        const done = approvals.length >= row.approvals_required;
        const after = await updateRequest(tx, id, {
          approvals,
          ...(done ? { state: 'approved', window_starts_at: at, window_ends_at: new Date(at.getTime() + row.duration_seconds * 1000) } : {}),
        });
        await recordStep(tx, deps, after, step(done ? 'approved' : 'approval_recorded', caller, ctx, body.note ?? null, at));
        return toAccessRequest(after, at);
      }),

    deny: (caller: Caller, ctx: RequestContext, id: string, body: DenyBody) =>
      change('deny', caller, ctx, id, body.reason, async (tx, at) => {
        const row = await locked(tx, id);
        await asApprover(tx, caller, row, 'deny');
        requireState(row, at, ['pending'], 'denied');
        checkVersion(row, body.version);
        const after = await updateRequest(tx, id, { state: 'denied', closed_at: at, closed_by: who(caller), close_reason: body.reason });
        await recordStep(tx, deps, after, step('denied', caller, ctx, body.reason, at));
        return toAccessRequest(after, at);
      }),

    /** The requester withdraws a pending request, or gives an active window back early. */
    cancel: (caller: Caller, ctx: RequestContext, id: string, body: CancelBody) =>
      change('cancel', caller, ctx, id, body.reason ?? null, async (tx, at) => {
        const row = await locked(tx, id);
        if (!same(caller, row)) throw new Refusal(new AppError('forbidden', 'only the requester can cancel a request (approvers deny or revoke)'), 'not_requester', row);
        requireState(row, at, ['pending', 'active'], 'cancelled');
        if (body.version !== undefined) checkVersion(row, body.version);
        const after = await updateRequest(tx, id, { state: 'cancelled', closed_at: at, closed_by: who(caller), close_reason: body.reason ?? null, ...(row.state === 'approved' ? { window_ends_at: at } : {}) });
        await recordStep(tx, deps, after, step('cancelled', caller, ctx, body.reason ?? null, at));
        return toAccessRequest(after, at);
      }),

    /** Ends an active window now: enforced here at once, on other replicas within maxStalenessMs. */
    revoke: (caller: Caller, ctx: RequestContext, id: string, body: RevokeBody) =>
      change('revoke', caller, ctx, id, body.reason, async (tx, at) => {
        const row = await locked(tx, id);
        await asApprover(tx, caller, row, 'revoke');
        requireState(row, at, ['active'], 'revoked');
        const after = await updateRequest(tx, id, { state: 'revoked', closed_at: at, closed_by: who(caller), close_reason: body.reason, window_ends_at: at });
        await recordStep(tx, deps, after, step('revoked', caller, ctx, body.reason, at));
        return toAccessRequest(after, at);
      }),

    /** An approver looks at a break-glass use after the fact; until then it is "unreviewed". */
    review: (caller: Caller, ctx: RequestContext, id: string, body: ReviewBody) =>
      change('review', caller, ctx, id, body.note, async (tx, at) => {
        const row = await locked(tx, id);
        if (!row.break_glass) throw new Refusal(new AppError('conflict', `request ${id} is not a break-glass use: only those are reviewed`), 'not_break_glass', row);
        await asApprover(tx, caller, row, 'review');
        if (row.reviewed_at) throw new Refusal(new AppError('request_closed', `request ${id} was already reviewed`), 'already_reviewed', row);
        checkVersion(row, body.version);
        const after = await updateRequest(tx, id, { reviewed_at: at, reviewed_by: who(caller), review_note: body.note });
        await recordStep(tx, deps, after, step('reviewed', caller, ctx, body.note, at));
        return toAccessRequest(after, at);
      }),

    /**
     * Puts on the record what the clock alone decided: pending requests that timed out (expired)
     * and windows that ran out (ended), an audit row and a webhook each. Access never waits for
     * this: a timed-out request stops counting as pending, and a window stops allowing grants, by
     * the clock alone.
     */
    async recordTimeouts(): Promise<number> {
      const at = now();
      const { expired, ended } = await store.transaction(async (tx) => {
        const expiredRows = await expireRequests(tx, at);
        for (const row of expiredRows) await recordStep(tx, deps, row, step('expired', null, null, 'no decision before pendingUntil', at));
        const endedRows = await claimEndedWindows(tx, at);
        for (const row of endedRows) await recordStep(tx, deps, row, step('ended', null, null, 'the approved window ran out', at));
        return { expired: expiredRows.length, ended: endedRows.length };
      });
      // An ended window changes no decision (the model compares windowEndsAt with now already).
      if (expired) access.invalidate();
      return expired + ended;
    },
  };

  async function visible(caller: Caller, row: RequestRow): Promise<boolean> {
    return same(caller, row) || privileged(caller) || mayDecide(caller, row);
  }

  /** An approver of the request's policy as it is now, and not its requester (asApprover's rule). */
  async function mayDecide(caller: Caller, row: RequestRow): Promise<boolean> {
    if (same(caller, row)) return false;
    const policy = (await findRequestPolicy(store, row.policy_name))?.policy;
    return policy !== undefined && isApprover(policy, caller);
  }
}
