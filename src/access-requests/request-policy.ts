import type { Caller } from '../auth/caller.js';
import { ACCESS_LEVELS, type Database } from '../databases/database-schema.js';
import type { Requestable } from './access-request-schema.js';
import { claimValues } from '../mappings/access-model.js';
import { matchPrincipal, type MappingPrincipal } from '../mappings/mapping-schema.js';
import { DEFAULT_PENDING_SECONDS, type RequestPolicy } from './request-policy-schema.js';

/** True when a principal (subject, group, claim, AWS principal or account) names this caller. */
export function principalNames(p: MappingPrincipal, caller: Caller): boolean {
  const m = matchPrincipal(p);
  if (m.issuer !== caller.issuer) return false;
  if ('subject' in m) return m.subject === caller.subject;
  if ('group' in m) return caller.groups.includes(m.group);
  return claimValues(caller.claims?.[m.claim.name]).includes(m.claim.value);
}

const namesAny = (principals: readonly MappingPrincipal[], caller: Caller) => principals.some((p) => principalNames(p, caller));

function covers(policy: RequestPolicy, db: Database): boolean {
  if (policy.database !== undefined) return policy.database === db.name;
  const pairs = Object.entries(policy.selector ?? {});
  return pairs.length > 0 && pairs.every(([k, v]) => db.labels?.[k] === v);
}

/**
 * The policy that lets this caller request this level on this database: the first by name of those
 * that name the caller as a requester, cover the database and list the level. (Several may; the
 * order is stable so the answer is too. README says to keep them disjoint.)
 */
export function policyFor(policies: readonly RequestPolicy[], caller: Caller, db: Database, level: string): RequestPolicy | undefined {
  return [...policies]
    .sort((a, b) => a.name.localeCompare(b.name))
    .find((p) => (p.levels as string[]).includes(level) && covers(p, db) && namesAny(p.requesters, caller));
}

/**
 * What this caller may request, database by database (the request form's choices). It names only
 * databases a policy lets the caller request, so it reveals no more than filing requests would.
 */
export function requestableBy(policies: readonly RequestPolicy[], databases: Iterable<Database>, caller: Caller): Requestable[] {
  const items: Requestable[] = [];
  for (const db of [...databases].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const level of ACCESS_LEVELS) {
      const p = db.levels[level] ? policyFor(policies, caller, db, level) : undefined;
      if (!p) continue;
      items.push({
        database: db.name, access: level, policy: p.name, maxDurationSeconds: p.maxDurationSeconds, approvalsRequired: approvalsRequired(p),
        ...(p.breakGlass ? { breakGlassMaxDurationSeconds: p.breakGlass.maxDurationSeconds } : {}),
      });
    }
  }
  return items;
}

export const isApprover = (policy: RequestPolicy, caller: Caller): boolean => namesAny(policy.approvers, caller);

export const approvalsRequired = (p: RequestPolicy) => p.approvalsRequired ?? 1;
export const pendingSeconds = (p: RequestPolicy) => p.pendingTimeoutSeconds ?? DEFAULT_PENDING_SECONDS;

/** Problems of a declaration apply should report (the schema checks shapes; this, meaning). */
export function policyProblems(p: RequestPolicy, field: string): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  if ((p.database === undefined) === (p.selector === undefined)) problems.push({ field: `${field}database`, message: 'give exactly one of database and selector' });
  if (p.breakGlass && p.breakGlass.maxDurationSeconds > p.maxDurationSeconds) problems.push({ field: `${field}breakGlass.maxDurationSeconds`, message: 'must not exceed maxDurationSeconds' });
  return problems;
}
