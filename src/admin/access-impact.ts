import type { Caller } from '../auth/caller.js';
import type { AccessModel } from '../mappings/access-model.js';
import { effectiveAccess } from '../mappings/decide-access.js';
import { AWS_ISSUER, callerForAwsArn } from '../auth/aws-principal.js';
import { matchPrincipal, principalKey, type MappingPrincipal } from '../mappings/mapping-schema.js';
import type { Queryable } from '../store/store.js';
import type { AccessDelta } from './admin-schema.js';

// "Who gains and who loses access if I merge this?" — answered by computing, for every principal
// that matters, what it can get before and after the change, and diffing the two.

interface Principal {
  key: string;
  principal: AccessDelta['principal'];
  caller: Caller;
  seenInAuditLog: boolean;
}

export interface AccessImpact {
  principalsCompared: number;
  auditWindowDays: number;
  gains: AccessDelta[];
  losses: AccessDelta[];
}

// A group or claim principal stands for "any member": a caller with no subject of its own
// (subjects are never empty), so only group or claim mappings can match it.
function fromMapping(principal: MappingPrincipal): Principal {
  const p = matchPrincipal(principal);
  const caller: Caller =
    'subject' in p ? withAwsAccount({ issuer: p.issuer, subject: p.subject, groups: [] })
    : 'group' in p ? { issuer: p.issuer, subject: '', groups: [p.group] }
    : { issuer: p.issuer, subject: '', groups: [], claims: { [p.claim.name]: p.claim.value } };
  const shown = 'aws' in principal || 'awsAccount' in principal ? { issuer: AWS_ISSUER, ...principal } : principal;
  return { key: principalKey(principal), principal: shown, caller, seenInAuditLog: false };
}

/** An AWS role or user stands for a caller of its account too: account-wide mappings apply to it. */
const withAwsAccount = (caller: Caller): Caller => (caller.issuer === AWS_ISSUER ? callerForAwsArn(caller.subject) : caller);

/** Callers who asked for credentials within the window, with the groups they last presented. */
async function seenCallers(tx: Queryable, since: Date): Promise<Principal[]> {
  const { rows } = await tx.query<{ issuer: string; subject: string; groups: string[] | null }>(
    `SELECT DISTINCT ON (actor_issuer, actor_subject) actor_issuer AS issuer, actor_subject AS subject, actor_groups AS groups
     FROM audit_events
     WHERE occurred_at >= $1 AND event_type LIKE 'credential.%' AND actor_issuer IS NOT NULL AND actor_subject IS NOT NULL
     ORDER BY actor_issuer, actor_subject, occurred_at DESC
     LIMIT 100000`,
    [since],
  );
  return rows.map((r) => {
    const principal: MappingPrincipal = r.issuer === AWS_ISSUER ? { aws: r.subject } : { issuer: r.issuer, subject: r.subject };
    return {
      key: principalKey(principal),
      principal: r.issuer === AWS_ISSUER ? { issuer: AWS_ISSUER, aws: r.subject } : { issuer: r.issuer, subject: r.subject },
      caller: withAwsAccount({ issuer: r.issuer, subject: r.subject, groups: r.groups ?? [] }),
      seenInAuditLog: true,
    };
  });
}

export async function accessImpact(tx: Queryable, before: AccessModel, after: AccessModel, at: Date, auditWindowDays: number): Promise<AccessImpact> {
  const principals = new Map<string, Principal>();
  for (const p of auditWindowDays > 0 ? await seenCallers(tx, new Date(at.getTime() - auditWindowDays * 86_400_000)) : []) principals.set(p.key, p);
  for (const m of [...before.mappings, ...after.mappings]) {
    const p = fromMapping(m.principal);
    if (!principals.has(p.key)) principals.set(p.key, p);
  }

  const gains: AccessDelta[] = [];
  const losses: AccessDelta[] = [];
  const keys = (model: AccessModel, caller: Caller) => new Set(effectiveAccess(model, caller, at).map((g) => `${g.database}\u0000${g.level}`));
  for (const p of principals.values()) {
    const had = keys(before, p.caller);
    const has = keys(after, p.caller);
    const delta = (key: string) => {
      const [database, level] = key.split('\u0000') as [string, string];
      return { principal: p.principal, seenInAuditLog: p.seenInAuditLog, database, level };
    };
    for (const k of has) if (!had.has(k)) gains.push(delta(k));
    for (const k of had) if (!has.has(k)) losses.push(delta(k));
  }
  return { principalsCompared: principals.size, auditWindowDays, gains, losses };
}
