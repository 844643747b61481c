import { explainConnectFailure, scrub } from '../../bootstrap/preflight-explain.js';
import { tlsFor } from '../postgres/login-probe.js';
import type { LoginCheck, LoginOutcome, LoginRequest } from '../engine.js';
import { rdsDbSettings } from '../rds-db/rds-db-fields.js';
import { dbUserArnOf } from '../rds-db/rds-db-policy.js';

// A MySQL/MariaDB login as a level's user, the way an application makes it: mysql2 over TLS with
// the cleartext plugin (RDS's AWSAuthenticationPlugin asks for it), then SHOW GRANTS proves the
// level: ro may read and not write, rw may write, monitor holds PROCESS.

const TLS_HINT = 'dab must trust the RDS CA bundle (e.g. NODE_EXTRA_CA_CERTS=global-bundle.pem), or register sslmode require';
const WRITES = /\b(?:INSERT|UPDATE|DELETE|ALL PRIVILEGES)\b/;

/** What the level's grants say it may do, or why they do not fit the level. */
export function levelProblem(level: string, grants: readonly string[], user: string): string | undefined {
  const text = grants.join('\n');
  if (level === 'ro') {
    if (!/\bSELECT\b|ALL PRIVILEGES/.test(text)) return `${user} may not SELECT anything: run the bootstrap SQL`;
    if (WRITES.test(text)) return `${user} may write (${grants.find((g) => WRITES.test(g))}), which ro must not: revoke it`;
  }
  if (level === 'rw' && !/\bINSERT\b|ALL PRIVILEGES/.test(text)) return `${user} may not INSERT: run the bootstrap SQL`;
  if (level === 'monitor' && !/\bPROCESS\b|ALL PRIVILEGES/.test(text)) return `${user} does not hold PROCESS: run the bootstrap SQL`;
  return undefined;
}

function explainMysqlFailure(err: unknown, req: LoginRequest): LoginOutcome {
  const e = err as { code?: string; errno?: number; message?: string; fatal?: boolean; sqlState?: string };
  const { host, port } = req.db;
  const generic = explainConnectFailure(err, { host, port, timeoutMs: req.timeoutMs, secrets: req.secrets, tlsHint: TLS_HINT }, e.errno !== undefined && e.sqlState !== undefined);
  if (generic) return generic;
  const text = scrub(e.message ?? String(err), req.secrets);
  const where = `${host}:${port}`;
  if (/SSL|TLS/i.test(text) && !/Access denied/i.test(text)) return { status: 'failed', message: `TLS to ${where} failed (${text}): RDS IAM logins require it; is this the RDS endpoint?` };
  if (e.code === 'ER_ACCESS_DENIED_ERROR' || /Access denied/i.test(text)) {
    return {
      status: 'failed',
      message: `the login was refused (${text}): check that ${req.dbUser} exists IDENTIFIED WITH AWSAuthenticationPlugin (run the bootstrap SQL), and that ${req.roleArn} allows rds-db:connect on ${dbUserArnOf(req.db, req.roleArn, req.dbUser)}; the token was signed for ${where}, which must be the real endpoint (not a CNAME)`,
    };
  }
  if (e.code === 'ER_BAD_DB_ERROR') return { status: 'failed', message: `database ${rdsDbSettings(req.db).dbname} does not exist on ${where}, or ${req.dbUser} may not use it: correct dbname or run the bootstrap SQL` };
  return { status: 'failed', message: `the login failed (${e.code ? `${e.code}: ` : ''}${text})` };
}

export const mysqlLogin: LoginCheck = async (req) => {
  // Loaded here: the engine registry (which `dab creds` reads) must not load the driver.
  const { default: mysql } = await import('mysql2/promise');
  const { host, port } = req.db;
  const { dbname, sslmode } = rdsDbSettings(req.db);
  let connection;
  try {
    connection = await mysql.createConnection({
      // monitor holds no privilege on the database itself: it logs in without one.
      host, port, user: req.dbUser, password: req.token, ...(req.level === 'monitor' ? {} : { database: dbname }),
      // mysql2's SslOptions are node's TLS options, typed narrower (pfx as text only); none of those is set here.
      ssl: tlsFor(sslmode, host) as Record<string, unknown>, enableCleartextPlugin: true, connectTimeout: req.timeoutMs,
    });
  } catch (err) {
    return explainMysqlFailure(err, req);
  }
  connection.on('error', () => undefined);
  const as = `logged in${req.level === 'monitor' ? '' : ` to ${dbname}`} at ${host}:${port} over TLS (sslmode ${sslmode})`;
  try {
    const [[who]] = (await connection.query({ sql: 'SELECT CURRENT_USER() AS who', timeout: req.timeoutMs })) as unknown as [Array<{ who: string }>];
    const current = String(who?.who ?? '').replace(/@[^@]*$/, '');
    if (current !== req.dbUser) return { status: 'failed', message: `${as} as ${current}, not as ${req.dbUser}: check the endpoint and the role mapping` };
    const [rows] = (await connection.query({ sql: 'SHOW GRANTS FOR CURRENT_USER()', rowsAsArray: true, timeout: req.timeoutMs })) as unknown as [string[][]];
    const grants = rows.map((r) => String(r[0]));
    const problem = levelProblem(req.level, grants, req.dbUser);
    if (problem) return { status: 'failed', message: `${as} as ${req.dbUser}, but ${problem}` };
    return { status: 'ok', message: `${as} as ${req.dbUser}, whose grants fit ${req.level}` };
  } catch (err) {
    return { status: 'failed', message: `logged in as ${req.dbUser}, but reading its grants failed: ${scrub((err as Error).message ?? String(err), req.secrets)}` };
  } finally {
    await connection.end().catch(() => undefined);
  }
};
