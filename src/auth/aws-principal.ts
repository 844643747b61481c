import type { Caller } from './caller.js';

/**
 * AWS principals as callers and as mapping/admin rules. An AWS caller has issuer "aws" (a name no
 * OIDC issuer may take) and, as subject, the canonical ARN of its role or user:
 *   arn:<partition>:sts::<account>:assumed-role/<role>/<session>  →  arn:<partition>:iam::<account>:role/<role>
 *   arn:<partition>:iam::<account>:user/<path/><name>             →  arn:<partition>:iam::<account>:user/<name>
 * An assumed-role ARN drops the role's path, so a rule naming a role ARN with a path matches on
 * account + role name (IAM role and user names are unique per account, whatever their path). The
 * account is always part of the match: it is in the ARN, and awsAccount rules compare it directly.
 */
export const AWS_ISSUER = 'aws';
export const AWS_ACCOUNT_CLAIM = 'aws:account';

export const AWS_PRINCIPAL_ARN = '^arn:aws(?:-cn|-us-gov)?:iam::\\d{12}:(?:role|user)/(?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$';
export const AWS_ACCOUNT_ID = '^\\d{12}$';

export interface AwsIdentity {
  /** The ARN STS returned (assumed-role or user). */
  readonly arn: string;
  readonly account: string;
  /** The role session name of an assumed role (who the app said it is, e.g. an instance id). */
  readonly sessionName?: string;
}

export type AwsRule = { aws: string } | { awsAccount: string };

const IAM_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const ASSUMED_ROLE = /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;

/** The path-free ARN a rule or caller is matched on; undefined when it is not a role or user ARN. */
export function canonicalAwsArn(arn: string): string | undefined {
  const m = IAM_ARN.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:${m[3]}/${m[4]}` : undefined;
}

/** The Caller a verified GetCallerIdentity answer becomes, or why it cannot be one. */
export function awsCaller(arn: string, account: string, partition: string): Caller | string {
  const assumed = ASSUMED_ROLE.exec(arn);
  const iam = assumed ? undefined : IAM_ARN.exec(arn);
  const [p, acct] = assumed ? [assumed[1], assumed[2]] : iam ? [iam[1], iam[2]] : [];
  if (!p || acct !== account) return 'dab accepts AWS roles and IAM users (not root, federated users or other principals)';
  if (p !== partition) return `the AWS principal is in partition ${p}, dab verifies ${partition}`;
  const subject = assumed ? `arn:${p}:iam::${acct}:role/${assumed[3]}` : (canonicalAwsArn(arn) as string);
  const aws: AwsIdentity = Object.freeze({ arn, account, ...(assumed ? { sessionName: assumed[4] as string } : {}) });
  return Object.freeze({ issuer: AWS_ISSUER, subject, groups: Object.freeze([]) as unknown as string[], claims: Object.freeze({ [AWS_ACCOUNT_CLAIM]: account }), aws });
}

/** True when an AWS rule names this caller (always requiring its account). */
export function matchesAwsRule(caller: Caller, rule: AwsRule): boolean {
  if (caller.issuer !== AWS_ISSUER || !caller.aws) return false;
  if ('awsAccount' in rule) return rule.awsAccount === caller.aws.account;
  return canonicalAwsArn(rule.aws) === caller.subject;
}

export const isAwsRule = (rule: object): rule is AwsRule => 'aws' in rule || 'awsAccount' in rule;

/**
 * The caller a role or user ARN stands for when no proof is at hand (explain, dry-run impact):
 * its canonical subject and its account, so account-wide rules apply to it as they would.
 */
export function callerForAwsArn(arn: string): Caller {
  const subject = canonicalAwsArn(arn) ?? arn;
  const account = subject.split(':')[4] ?? '';
  return { issuer: AWS_ISSUER, subject, groups: [], claims: { [AWS_ACCOUNT_CLAIM]: account }, aws: { arn, account } };
}
