import type { PrincipalRule } from '../config/config-schema.js';

/** Who is calling, as established from a verified token. */
export interface Caller {
  readonly issuer: string;
  readonly subject: string;
  readonly groups: readonly string[];
  /** The verified token's claims, for mappings that match on one (issuer + claim = value). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** True when a principal rule (issuer + subject, or issuer + group) names this caller. */
export function matchesPrincipal(caller: Caller, rule: PrincipalRule): boolean {
  if (rule.issuer !== caller.issuer) return false;
  return 'subject' in rule ? rule.subject === caller.subject : caller.groups.includes(rule.group);
}
