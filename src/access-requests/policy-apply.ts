import { recordAdminChange } from '../audit/admin-changes.js';
import type { Caller } from '../auth/caller.js';
import type { ProblemFieldError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import type { Queryable } from '../store/store.js';
import { sameDeclaration } from '../admin/declarations.js';
import { deleteRequestPolicy, listRequestPolicies, putRequestPolicy } from './request-policies-repo.js';
import { policyProblems } from './request-policy.js';
import type { RequestPolicy } from './request-policy-schema.js';

export interface PolicyApplyContext {
  tx: Queryable;
  actor: Caller;
  ctx: RequestContext;
  at: Date;
  macKey: Buffer;
  /** Where apply collects the document's problems (nothing is written when there are any). */
  problems: ProblemFieldError[];
  /** True when the database exists or the same document declares it. */
  databaseKnown: (name: string) => Promise<boolean>;
}

export interface PolicyChange {
  kind: 'requestPolicy';
  name: string;
  action: 'create' | 'update' | 'delete';
}

/**
 * The request-policy part of `dab admin apply`: makes request_policies hold what the document
 * declares (with prune, nothing else), each change an admin-change audit row in apply's transaction.
 */
export async function applyRequestPolicies(c: PolicyApplyContext, declared: readonly RequestPolicy[], prune: boolean): Promise<PolicyChange[]> {
  const stored = new Map((await listRequestPolicies(c.tx)).map((p) => [p.name, p]));
  const changes: PolicyChange[] = [];
  const audit = (eventType: string, name: string, before: RequestPolicy | null, after: RequestPolicy | null) =>
    recordAdminChange(c.tx, c.actor, c.ctx, { eventType, target: `policy:${name}`, ...((after ?? before)?.database ? { databaseName: (after ?? before)?.database as string } : {}), before, after }, c.at, c.macKey);
  if (prune) {
    const keep = new Set(declared.map((p) => p.name));
    for (const p of stored.values()) {
      if (keep.has(p.name)) continue;
      await deleteRequestPolicy(c.tx, p.name);
      await audit('request_policy.deleted', p.name, p, null);
      changes.push({ kind: 'requestPolicy', name: p.name, action: 'delete' });
    }
  }
  const seen = new Set<string>();
  for (const [i, p] of declared.entries()) {
    if (seen.has(p.name)) continue; // reported as a duplicate by apply
    seen.add(p.name);
    const field = `body.document.requestPolicies.${i}.`;
    const problems = policyProblems(p, field);
    if (p.database !== undefined && !(await c.databaseKnown(p.database))) problems.push({ field: `${field}database`, message: `no database named "${p.database}" exists or is declared` });
    if (problems.length) {
      c.problems.push(...problems);
      continue;
    }
    const before = stored.get(p.name);
    if (before && sameDeclaration(before, p)) continue;
    await putRequestPolicy(c.tx, p, c.at);
    await audit(before ? 'request_policy.updated' : 'request_policy.created', p.name, before ?? null, p);
    changes.push({ kind: 'requestPolicy', name: p.name, action: before ? 'update' : 'create' });
  }
  return changes;
}
