import { verifyElastiCacheToken } from '../sigv4.js';
import type { StsEmulator } from '../sts-emulator.js';
import type { RespAuthRequest, RespAuthResult } from './resp-gate.js';

export interface ElastiCacheIamCheckOptions {
  sts: StsEmulator;
  region: string;
  /** The cache name the tokens are signed for (replication group id or serverless cache name). */
  cacheName: string;
  serverless: boolean;
  /** The IAM side: which ElastiCache users each role's policy allows elasticache:Connect as. */
  connectPolicy: ReadonlyMap<string, ReadonlySet<string>>;
  /** The ACL user (and password) that stands for each ElastiCache user's access string upstream. */
  aclUser(user: string): { username: string; password: string } | undefined;
  now?: () => Date;
}

/**
 * What ElastiCache checks on AUTH for an IAM user: a valid elasticache token for this cache and
 * user, signed by live credentials whose role may elasticache:Connect as that user.
 */
export function createElastiCacheIamCheck(opts: ElastiCacheIamCheckOptions): (req: RespAuthRequest) => Promise<RespAuthResult> {
  const now = opts.now ?? (() => new Date());
  return async ({ user, token }) => {
    const at = now();
    const expected = { cacheName: opts.cacheName, user, serverless: opts.serverless, region: opts.region };
    const verified = verifyElastiCacheToken(token, expected, opts.sts.lookupCredentials, { now: at });
    if (!verified.ok) return verified;
    const session = opts.sts.findSession(verified.accessKeyId);
    if (!session) return { ok: false, reason: 'not_a_role_session' };
    if (session.expiration.getTime() <= at.getTime()) return { ok: false, reason: 'session_expired' };
    if (!opts.connectPolicy.get(session.roleArn)?.has(user)) return { ok: false, reason: 'elasticache_connect_not_allowed' };
    const upstream = opts.aclUser(user);
    if (!upstream) return { ok: false, reason: 'no_such_user' };
    return { ok: true, upstream };
  };
}
