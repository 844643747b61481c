import type { ConnectionOptions } from 'node:tls';
import type { SslMode } from '../rds-db/rds-db-fields.js';

export interface LoginProbeRequest {
  host: string;
  port: number;
  dbname: string;
  dbUser: string;
  /** The RDS IAM token: the password. Never logged, never returned. */
  token: string;
  sslmode: SslMode;
  timeoutMs: number;
}

export interface LoginProbeResult {
  currentUser: string;
  /** Whether the session holds pg_monitor's privileges (asked for every level, judged for monitor). */
  pgMonitor: boolean;
}

/** The login worked; what came after did not (so it is no reachability or authentication problem). */
export class AfterLoginError extends Error {
  override name = 'AfterLoginError';
}

/** Logs in as the DB user with the token and asks who it is; throws the pg / network error otherwise. */
export type LoginProbe = (request: LoginProbeRequest) => Promise<LoginProbeResult>;

/**
 * TLS as the registered sslmode asks, like libpq: RDS requires TLS for IAM logins. Only `require`
 * skips certificate verification (encryption without authentication of the server, which is what
 * the DBA chose); verify-ca checks the chain but not the host name; verify-full checks both.
 */
export function tlsFor(sslmode: SslMode, host: string): ConnectionOptions {
  if (sslmode === 'require') return { rejectUnauthorized: false };
  if (sslmode === 'verify-ca') return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { rejectUnauthorized: true, servername: host };
}

export const pgLoginProbe: LoginProbe = async (req) => {
  // Loaded here, not at the top: the engine registry (which `dab creds` reads) must not load pg.
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    host: req.host,
    port: req.port,
    user: req.dbUser,
    password: req.token,
    database: req.dbname,
    ssl: tlsFor(req.sslmode, req.host),
    connectionTimeoutMillis: req.timeoutMs,
    query_timeout: req.timeoutMs,
    application_name: 'dab-preflight-check',
  });
  // An error after connect (the server closing the session) must not become an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
    try {
      const { rows } = await client.query<{ current_user: string; pg_monitor: boolean }>(
        "SELECT current_user, pg_has_role(current_user, 'pg_monitor', 'USAGE') AS pg_monitor",
      );
      const row = rows[0];
      return { currentUser: row?.current_user ?? '', pgMonitor: row?.pg_monitor === true };
    } catch (err) {
      throw new AfterLoginError((err as Error).message);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
};
