import { ACCESS_LEVELS, type AccessLevel } from '../databases/access-levels.js';
import type { Database } from '../databases/database-schema.js';
import type { ConnectPermission, ConnectTarget } from '../engines/engine.js';

// The IAM side of a database (BRIEF §2): per target role, a trust policy naming dab's principal and
// a permission policy allowing the engine's connect action (rds-db:connect, elasticache:Connect) on
// exactly the DB users that role serves. What that action and its resources are is the engine's.

export { dbUserArn, permissionPolicy, RESOURCE_ID_PLACEHOLDER } from '../engines/rds-db/rds-db-policy.js';

export type PolicyTarget = Pick<Database, 'region' | 'roleArn' | 'externalId' | 'levels'> & { readonly [field: string]: unknown };
/** The engine's permission for one role and the levels it serves (Engine.connectPermission). */
export type ConnectPermissionOf = (db: ConnectTarget, roleArn: string, levels: readonly AccessLevel[]) => ConnectPermission;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal?: { AWS: string };
  Action: string;
  Resource?: string[];
  Condition?: Record<string, Record<string, string>>;
}
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface RolePolicies {
  roleArn: string;
  levels: AccessLevel[];
  trustPolicy: PolicyDocument;
  permissionPolicy: PolicyDocument;
  sizes: { trustPolicy: number; permissionPolicy: number };
  warnings: string[];
}

export interface PolicyOptions {
  /** dab's own role (config sts.brokerRoleArn); a placeholder when unset. */
  brokerRoleArn?: string | undefined;
  /** dab sets SourceIdentity (config sts.setSourceIdentity): the trust policy must allow it. */
  setSourceIdentity: boolean;
}

// IAM's limits, counted in characters excluding whitespace.
export const POLICY_LIMITS = { trustDefault: 2048, trustMax: 4096, managed: 6144, inline: 10240 } as const;
export const brokerPlaceholder = (partition: string) => `arn:${partition}:iam::BROKER_ACCOUNT_ID:role/BROKER_ROLE_NAME`;

/** arn:<partition>:iam::<account>:role/<path/><name> → its parts. */
export function parseRoleArn(arn: string): { partition: string; account: string; name: string } {
  const [, partition = 'aws', , , account = '', resource = ''] = arn.split(':');
  return { partition, account, name: resource.split('/').pop() ?? resource };
}

/** The size IAM checks against its quotas: characters, not counting whitespace. */
export function policySize(policy: PolicyDocument): number {
  return JSON.stringify(policy).replace(/\s/g, '').length;
}

const n = (x: number) => x.toLocaleString('en-US');

export function trustSizeWarnings(size: number): string[] {
  if (size > POLICY_LIMITS.trustMax) return [`trust policy is ${n(size)} characters (whitespace excluded): over IAM's hard maximum of ${n(POLICY_LIMITS.trustMax)} for role trust policies; it must be shortened`];
  if (size > POLICY_LIMITS.trustDefault) return [`trust policy is ${n(size)} characters (whitespace excluded): over IAM's default quota of ${n(POLICY_LIMITS.trustDefault)} for role trust policies; request a quota increase (up to ${n(POLICY_LIMITS.trustMax)}) or shorten it`];
  return [];
}

export function permissionSizeWarnings(size: number): string[] {
  if (size > POLICY_LIMITS.inline) return [`permission policy is ${n(size)} characters (whitespace excluded): over IAM's ${n(POLICY_LIMITS.inline)} limit for inline role policies (and ${n(POLICY_LIMITS.managed)} for managed policies); split these DB users across roles`];
  if (size > POLICY_LIMITS.managed) return [`permission policy is ${n(size)} characters (whitespace excluded): over IAM's ${n(POLICY_LIMITS.managed)} limit for managed policies; attach it as an inline policy (limit ${n(POLICY_LIMITS.inline)})`];
  return [];
}

export function trustPolicy(brokerArn: string, externalId: string | undefined, setSourceIdentity: boolean): PolicyDocument {
  const principal = { AWS: brokerArn };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DabAssumeRole',
        Effect: 'Allow',
        Principal: principal,
        Action: 'sts:AssumeRole',
        ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
      // dab names the caller in SourceIdentity, so CloudTrail here shows who each session was for.
      ...(setSourceIdentity ? [{ Sid: 'DabSetSourceIdentity', Effect: 'Allow' as const, Principal: principal, Action: 'sts:SetSourceIdentity' }] : []),
    ],
  };
}

/** One entry per distinct role the levels use (a level's own role, else the database's), with warnings. */
export function rolePolicies(db: PolicyTarget, opts: PolicyOptions, connect: ConnectPermissionOf): { roles: RolePolicies[]; warnings: string[] } {
  const byRole = new Map<string, AccessLevel[]>();
  for (const level of ACCESS_LEVELS) {
    const spec = db.levels[level];
    if (!spec) continue;
    const arn = spec.roleArn ?? db.roleArn;
    byRole.set(arn, [...(byRole.get(arn) ?? []), level]);
  }

  const firstPartition = parseRoleArn([...byRole.keys()][0] ?? db.roleArn).partition;
  const broker = opts.brokerRoleArn ?? brokerPlaceholder(firstPartition);
  // The engine's warnings (e.g. a placeholder resource id) are the same for every role: said once.
  const engineWarnings = new Set<string>();

  const roles = [...byRole].map(([roleArn, levels]): RolePolicies => {
    const { partition } = parseRoleArn(roleArn);
    const permission = connect(db, roleArn, levels);
    for (const w of permission.warnings) engineWarnings.add(w);
    const trust = trustPolicy(broker, db.externalId, opts.setSourceIdentity);
    const permissions: PolicyDocument = { Version: '2012-10-17', Statement: permission.statements };
    const sizes = { trustPolicy: policySize(trust), permissionPolicy: policySize(permissions) };
    const roleWarnings = [...trustSizeWarnings(sizes.trustPolicy), ...permissionSizeWarnings(sizes.permissionPolicy)];
    if (levels.length > 1) {
      roleWarnings.push(`this role serves levels ${levels.join(', ')}: a session for one of them may also connect as the others' DB users; give each level its own roleArn so IAM enforces the separation`);
    }
    if (opts.brokerRoleArn && parseRoleArn(opts.brokerRoleArn).partition !== partition) {
      roleWarnings.push(`dab's role ${opts.brokerRoleArn} is in another partition than this role (${partition}): roles cannot be assumed across partitions`);
    }
    return { roleArn, levels, trustPolicy: trust, permissionPolicy: permissions, sizes, warnings: roleWarnings };
  });

  const warnings: string[] = [];
  if (!opts.brokerRoleArn) {
    warnings.push(`sts.brokerRoleArn is not configured, so the trust policies name the placeholder ${broker}: replace it with dab's own role ARN, or set sts.brokerRoleArn (env DAB_BROKER_ROLE_ARN) and generate again`);
  }
  warnings.push(...engineWarnings);
  if (!db.externalId) {
    warnings.push("no externalId is registered, so the trust policies do not require one: when the role is in another account than dab's, register an ExternalId (it protects against the confused-deputy problem)");
  }
  return { roles, warnings };
}
