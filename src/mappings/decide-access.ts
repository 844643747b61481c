import type { Caller } from '../auth/caller.js';
import type { AccessLevel } from '../databases/database-schema.js';
import type { AccessModel } from './access-model.js';
import { appliesTo } from './access-model.js';
import { matchPrincipal, type Mapping } from './mapping-schema.js';

export type DenyReason =
  | 'unknown_database'
  | 'level_not_defined'
  | 'no_mapping'
  | 'level_not_granted'
  | 'mapping_expired'
  | 'mapping_not_yet_valid'
  | 'reason_required'
  | 'request_pending';

/** The approved access request whose window allows a decision (just-in-time access). */
export interface WindowGrant {
  id: string;
  approvedBy: string[];
  endsAt: string;
  breakGlass: boolean;
}

export type Decision =
  | { allowed: true; rule: string; dbUser: string; roleArn: string; accessRequest?: WindowGrant }
  | { allowed: false; reason: DenyReason; rule: string | null };

/** What one mapping that names the caller and applies to the database says about the request. */
export type MappingVerdict = 'grants' | 'reason_required' | 'expired' | 'not_yet_valid' | 'other_levels' | 'inactive';

export interface DecisionInput {
  caller: Caller;
  level: AccessLevel;
  database: string;
  /** The caller's reason, if the request gave one. */
  reason?: string | undefined;
  model: AccessModel;
  now: Date;
}

export interface Explanation {
  decision: Decision;
  /** Every mapping that names the principal and applies to the database, most specific first. */
  considered: Array<{ mapping: Mapping; verdict: MappingVerdict }>;
}

/** True while the mapping's time bounds hold: notBefore ≤ now < expiresAt. */
export function isLive(m: Mapping, now: Date): boolean {
  const t = now.getTime();
  return (!m.notBefore || Date.parse(m.notBefore) <= t) && (!m.expiresAt || Date.parse(m.expiresAt) > t);
}

export function assessMapping(m: Mapping, level: AccessLevel, now: Date, hasReason: boolean): MappingVerdict {
  const live = isLive(m, now);
  if (!m.levels.includes(level)) return live ? 'other_levels' : 'inactive';
  if (!live) return m.notBefore && Date.parse(m.notBefore) > now.getTime() ? 'not_yet_valid' : 'expired';
  return m.requireReason && !hasReason ? 'reason_required' : 'grants';
}

// Subject mappings are the most specific, then claims, then groups; a named database beats a selector.
// An AWS role/user ARN counts as a subject, an AWS account as a claim.
const specificity = (m: Mapping): number => {
  const p = matchPrincipal(m.principal);
  return ('subject' in p ? 0 : 'claim' in p ? 2 : 4) + (m.database !== undefined ? 0 : 1);
};
const bySpecificity = (a: Mapping, b: Mapping) => specificity(a) - specificity(b) || a.name.localeCompare(b.name);

// The first verdict present, in this order, decides a refusal.
const REFUSALS: Array<[MappingVerdict, DenyReason]> = [
  ['reason_required', 'reason_required'],
  ['expired', 'mapping_expired'],
  ['not_yet_valid', 'mapping_not_yet_valid'],
  ['other_levels', 'level_not_granted'],
];

/** Pure authorisation with its working shown: which mapping allows this, or exactly why none does. */
export function explainAccess({ caller, level, database: name, reason, model, now }: DecisionInput): Explanation {
  const database = model.databases.get(name);
  if (!database) return { decision: { allowed: false, reason: 'unknown_database', rule: null }, considered: [] };
  const considered = model
    .candidates(caller)
    .filter((m) => appliesTo(m, database))
    .sort(bySpecificity)
    .map((mapping) => ({ mapping, verdict: assessMapping(mapping, level, now, reason !== undefined && reason.length > 0) }));
  const spec = database.levels[level];
  if (!spec) return { decision: { allowed: false, reason: 'level_not_defined', rule: null }, considered };

  const granting = considered.find((c) => c.verdict === 'grants');
  if (granting) return { decision: { allowed: true, rule: granting.mapping.id, dbUser: spec.dbUser, roleArn: spec.roleArn ?? database.roleArn }, considered };
  // No standing mapping grants it: an approved window of this caller's own request may.
  const t = now.getTime();
  const mine = model.openRequests(caller).filter((r) => r.database === name && r.level === level);
  const window = mine.find((r) => r.state === 'approved' && (r.windowStartsAt ?? Infinity) <= t && (r.windowEndsAt ?? 0) > t);
  if (window) {
    const accessRequest: WindowGrant = { id: window.id, approvedBy: window.approvedBy, endsAt: new Date(window.windowEndsAt as number).toISOString(), breakGlass: window.breakGlass };
    return { decision: { allowed: true, rule: `request:${window.id}`, dbUser: spec.dbUser, roleArn: spec.roleArn ?? database.roleArn, accessRequest }, considered };
  }
  const reasonMissing = considered.find((c) => c.verdict === 'reason_required');
  const pending = mine.find((r) => r.state === 'pending' && r.pendingUntil > t);
  if (pending && !reasonMissing) return { decision: { allowed: false, reason: 'request_pending', rule: `request:${pending.id}` }, considered };
  for (const [verdict, denyReason] of REFUSALS) {
    const found = considered.find((c) => c.verdict === verdict);
    if (found) return { decision: { allowed: false, reason: denyReason, rule: found.mapping.id }, considered };
  }
  return { decision: { allowed: false, reason: 'no_mapping', rule: null }, considered };
}

export function decideAccess(input: DecisionInput): Decision {
  return explainAccess(input).decision;
}

export interface EffectiveGrant {
  database: string;
  level: AccessLevel;
  /** Name of the most specific mapping that grants it. */
  mapping: string;
  requireReason: boolean;
  expiresAt?: string;
  /** Set when an approved access request's window grants it (mapping is then "request:<id>"). */
  accessRequest?: string;
}

/** Everything a principal can get at `now`: the answer to "what can I get?" and the unit of dry-run diffs. */
export function effectiveAccess(model: AccessModel, caller: Caller, now: Date): EffectiveGrant[] {
  const found = new Map<string, EffectiveGrant>();
  for (const m of model.candidates(caller).filter((c) => isLive(c, now)).sort(bySpecificity)) {
    for (const db of model.targets(m)) {
      for (const level of m.levels) {
        if (!db.levels[level]) continue;
        const key = `${db.name}\u0000${level}`;
        const seen = found.get(key);
        // Keep the first (most specific) mapping, unless a later one grants without a reason.
        if (seen && (!seen.requireReason || m.requireReason)) continue;
        found.set(key, { database: db.name, level, mapping: m.name, requireReason: m.requireReason ?? false, ...(m.expiresAt ? { expiresAt: m.expiresAt } : {}) });
      }
    }
  }
  // Windows of approved requests, where no mapping already grants the level.
  const t = now.getTime();
  for (const r of model.openRequests(caller)) {
    const key = `${r.database}\u0000${r.level}`;
    if (r.state !== 'approved' || found.has(key) || !((r.windowStartsAt ?? Infinity) <= t && (r.windowEndsAt ?? 0) > t)) continue;
    const db = model.databases.get(r.database);
    if (!db?.levels[r.level as AccessLevel]) continue;
    found.set(key, { database: r.database, level: r.level as AccessLevel, mapping: `request:${r.id}`, requireReason: false, expiresAt: new Date(r.windowEndsAt as number).toISOString(), accessRequest: r.id });
  }
  return [...found.values()].sort((a, b) => a.database.localeCompare(b.database) || a.level.localeCompare(b.level));
}
