import { explainConnectFailure, scrub } from '../../bootstrap/preflight-explain.js';
import type { LoginCheck, LoginOutcome, LoginRequest } from '../engine.js';
import { rdsDbSettings } from '../rds-db/rds-db-fields.js';
import { dbUserArnOf } from '../rds-db/rds-db-policy.js';
import { AfterLoginError, pgLoginProbe, type LoginProbe } from './login-probe.js';

const TLS_HINT = 'dab must trust the RDS CA bundle (e.g. NODE_EXTRA_CA_CERTS=global-bundle.pem), or register sslmode require';

/** One sentence for a failed PostgreSQL login; "skipped" when dab simply cannot reach the database. */
function explainPgLoginFailure(err: unknown, req: LoginRequest): LoginOutcome {
  const e = err as { code?: string; message?: string; severity?: string };
  const { host, port } = req.db;
  const { dbname } = rdsDbSettings(req.db);
  const generic = explainConnectFailure(err, { host, port, timeoutMs: req.timeoutMs, secrets: req.secrets, tlsHint: TLS_HINT }, Boolean(e.severity));
  if (generic) return generic;
  const code = e.code ?? '';
  const text = scrub(e.message ?? String(err), req.secrets);
  const where = `${host}:${port}`;
  if (/does not support SSL/i.test(text)) {
    return { status: 'failed', message: `${where} does not accept TLS, and RDS IAM logins require it: is this really the RDS endpoint?` };
  }
  if (code === '28000' || code === '28P01' || /PAM authentication failed|password authentication failed/i.test(text)) {
    return {
      status: 'failed',
      message: `the login was refused (${text}): check that ${req.dbUser} exists and was granted rds_iam (run the bootstrap SQL), and that ${req.roleArn} allows rds-db:connect on ${dbUserArnOf(req.db, req.roleArn, req.dbUser)}; the token was signed for ${where}, which must be the real endpoint (not a CNAME)`,
    };
  }
  if (code === '3D000') return { status: 'failed', message: `database ${dbname} does not exist on ${where}: correct dbname in the registration` };
  return { status: 'failed', message: `the login failed (${code ? `${code}: ` : ''}${text})` };
}

/** Logs in over TLS as the level's user, checks who it is and, for monitor, that it holds pg_monitor. */
export function postgresLoginWith(probe: LoginProbe): LoginCheck {
  return async (req) => {
    const { host, port } = req.db;
    const { dbname, sslmode } = rdsDbSettings(req.db);
    try {
      const who = await probe({ host, port, dbname, dbUser: req.dbUser, token: req.token, sslmode, timeoutMs: req.timeoutMs });
      const as = `logged in to ${dbname} at ${host}:${port} over TLS (sslmode ${sslmode}) as ${who.currentUser}`;
      if (who.currentUser !== req.dbUser) return { status: 'failed', message: `${as}, not as ${req.dbUser}: check the endpoint and the role mapping` };
      if (req.level === 'monitor' && !who.pgMonitor) {
        return { status: 'failed', message: `${as}, but ${req.dbUser} does not hold pg_monitor: run the bootstrap SQL (it grants pg_monitor to the monitor group role)` };
      }
      return { status: 'ok', message: `${as}${req.level === 'monitor' ? ', which holds pg_monitor' : ''}` };
    } catch (err) {
      if (err instanceof AfterLoginError) return { status: 'failed', message: `logged in as ${req.dbUser}, but SELECT current_user failed: ${scrub(err.message, req.secrets)}` };
      return explainPgLoginFailure(err, req);
    }
  };
}

export const postgresLogin: LoginCheck = postgresLoginWith(pgLoginProbe);
