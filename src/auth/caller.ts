import type { PrincipalRule } from '../config/config-schema.js';
import { isAwsRule, matchesAwsRule, type AwsIdentity } from './aws-principal.js';

/** Who is calling, as established from a verified token or AWS proof. */
export interface Caller {
  readonly issuer: string;
  readonly subject: string;
  readonly groups: readonly string[];
  /** The verified token's claims, for mappings that match on one (issuer + claim = value). */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** An AWS IAM caller's identity as STS stated it (for audit): see aws-principal.ts. */
  readonly aws?: AwsIdentity;
}

/** True when a principal rule (issuer + subject, issuer + group, or an AWS role/user/account) names this caller. */
export function matchesPrincipal(caller: Caller, rule: PrincipalRule): boolean {
  if (isAwsRule(rule)) return matchesAwsRule(caller, rule);
  if (rule.issuer !== caller.issuer) return false;
  return 'subject' in rule ? rule.subject === caller.subject : caller.groups.includes(rule.group);
}
