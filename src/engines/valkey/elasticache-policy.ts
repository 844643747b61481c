import type { PolicyStatement } from '../../bootstrap/iam-policies.js';
import type { AccessLevel } from '../../databases/access-levels.js';
import type { ConnectPermission, ConnectTarget } from '../engine.js';

// elasticache:Connect must allow both the cache and the user: a role allowed the user on another
// cache, or the cache as another user, is refused.

const partitionAndAccount = (roleArn: string) => {
  const [, partition = 'aws', , , account = ''] = roleArn.split(':');
  return { partition, account };
};

/** arn:<partition>:elasticache:<region>:<account>:replicationgroup:<name> (serverlesscache:<name> when serverless). */
export function cacheArn(partition: string, region: string, account: string, cacheName: string, serverless: boolean): string {
  return `arn:${partition}:elasticache:${region}:${account}:${serverless ? 'serverlesscache' : 'replicationgroup'}:${cacheName}`;
}

/** arn:<partition>:elasticache:<region>:<account>:user:<user id>. */
export function cacheUserArn(partition: string, region: string, account: string, userId: string): string {
  return `arn:${partition}:elasticache:${region}:${account}:user:${userId}`;
}

/** The cache and the users live in the role's account (dab's registrations name that role). */
export function elastiCacheConnectPermission(db: ConnectTarget, roleArn: string, levels: readonly AccessLevel[]): ConnectPermission {
  const { partition, account } = partitionAndAccount(roleArn);
  const cache = cacheArn(partition, db.region, account, String(db.cacheName), db.serverless === true);
  const users = levels.map((level) => cacheUserArn(partition, db.region, account, db.levels[level]!.dbUser));
  const statement: PolicyStatement = { Sid: 'DabElastiCacheConnect', Effect: 'Allow', Action: 'elasticache:Connect', Resource: [cache, ...users] };
  return { statements: [statement], warnings: [] };
}
