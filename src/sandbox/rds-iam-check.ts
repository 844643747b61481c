import type { GateAuthRequest, GateAuthResult } from './iam-gate.js';
import { verifyRdsAuthToken } from './sigv4.js';
import type { StsEmulator } from './sts-emulator.js';

export interface RdsIamCheckOptions {
  sts: StsEmulator;
  region: string;
  /** The IAM side: which DB users each role's policy allows rds-db:connect for. */
  connectPolicy: ReadonlyMap<string, ReadonlySet<string>>;
  now?: () => Date;
}

/**
 * What RDS checks when an rds_iam user logs in: a valid SigV4 token for this endpoint and user,
 * signed by live credentials, whose role's policy allows rds-db:connect as that user.
 */
export function createRdsIamCheck(opts: RdsIamCheckOptions): (req: GateAuthRequest) => Promise<GateAuthResult> {
  const now = opts.now ?? (() => new Date());
  return async ({ user, password, gateHost, gatePort }) => {
    const at = now();
    const verified = verifyRdsAuthToken(password, { host: gateHost, port: gatePort, user, region: opts.region }, opts.sts.lookupCredentials, { now: at });
    if (!verified.ok) return verified;
    const session = opts.sts.findSession(verified.accessKeyId);
    if (!session) return { ok: false, reason: 'not_a_role_session' };
    if (session.expiration.getTime() <= at.getTime()) return { ok: false, reason: 'session_expired' };
    if (!opts.connectPolicy.get(session.roleArn)?.has(user)) return { ok: false, reason: 'rds_db_connect_not_allowed' };
    return { ok: true };
  };
}
