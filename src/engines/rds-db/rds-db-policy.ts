import type { PolicyDocument, PolicyStatement } from '../../bootstrap/iam-policies.js';
import type { AccessLevel } from '../../databases/access-levels.js';
import type { ConnectPermission, ConnectTarget } from '../engine.js';

// rds-db:connect, the IAM side of every RDS/Aurora engine (PostgreSQL, MySQL, MariaDB): it takes no
// global condition keys, so the resource (one ARN per DB user) is the whole restriction.

export const RESOURCE_ID_PLACEHOLDER = 'RESOURCE_ID';

const partitionAndAccount = (roleArn: string) => {
  const [, partition = 'aws', , , account = ''] = roleArn.split(':');
  return { partition, account };
};

/** The rds-db:connect resource for one DB user: arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>/<user>. */
export function dbUserArn(partition: string, region: string, account: string, resourceId: string, dbUser: string): string {
  return `arn:${partition}:rds-db:${region}:${account}:dbuser:${resourceId}/${dbUser}`;
}

/** The connect ARN of one DB user of a registered database (the placeholder when resourceId is not registered). */
export function dbUserArnOf(db: ConnectTarget, roleArn: string, dbUser: string): string {
  const { partition, account } = partitionAndAccount(roleArn);
  return dbUserArn(partition, db.region, account, (db.resourceId as string | undefined) ?? RESOURCE_ID_PLACEHOLDER, dbUser);
}

export function rdsConnectStatement(resources: string[]): PolicyStatement {
  return { Sid: 'DabRdsConnect', Effect: 'Allow', Action: 'rds-db:connect', Resource: resources };
}

export function permissionPolicy(resources: string[]): PolicyDocument {
  return { Version: '2012-10-17', Statement: [rdsConnectStatement(resources)] };
}

/** rds-db:connect on exactly these levels' DB users. */
export function rdsDbConnectPermission(db: ConnectTarget, roleArn: string, levels: readonly AccessLevel[]): ConnectPermission {
  const statements = [rdsConnectStatement(levels.map((level) => dbUserArnOf(db, roleArn, db.levels[level]!.dbUser)))];
  const warnings = db.resourceId
    ? []
    : [`resourceId is not registered, so the rds-db:connect ARNs use the placeholder ${RESOURCE_ID_PLACEHOLDER}: set resourceId (aws rds describe-db-instances --query 'DBInstances[].DbiResourceId'; for Aurora aws rds describe-db-clusters --query 'DBClusters[].DbClusterResourceId') and generate again`];
  return { statements, warnings };
}
