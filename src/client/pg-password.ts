import { requestCredentials, type Credentials, type CredentialsRequest } from './dab-client.js';

export interface DabPasswordOptions extends CredentialsRequest {
  /** Fetch a new token this long before the current one expires (default 60 s). */
  refreshBeforeMs?: number;
  now?: () => number;
}

/**
 * A `password` function for pg (Client or Pool): every new connection asks it, it answers from a
 * cached grant until shortly before expiresAt, and concurrent connections share one refresh.
 * A token only has to be valid when the connection is made, so open connections are unaffected.
 */
export function dabPassword(opts: DabPasswordOptions): (() => Promise<string>) & { current(): Credentials | undefined } {
  const refreshBeforeMs = opts.refreshBeforeMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let cached: Credentials | undefined;
  let inFlight: Promise<Credentials> | undefined;

  const password = async (): Promise<string> => {
    if (cached && Date.parse(cached.expiresAt) - now() > refreshBeforeMs) return cached.token;
    inFlight ??= requestCredentials(opts)
      .then((fresh) => (cached = fresh))
      .finally(() => (inFlight = undefined));
    return (await inFlight).token;
  };
  return Object.assign(password, { current: () => cached });
}

/**
 * A ready pg config: fetches one grant to learn host, port, user and dbname, then keeps the
 * password fresh. `ssl` follows dab's sslmode (RDS requires TLS for IAM logins); pass `ssl`
 * yourself to add the RDS CA bundle for verify-full.
 */
export async function dabPgConfig(opts: DabPasswordOptions & { ssl?: object }) {
  const password = dabPassword(opts);
  await password();
  const c = password.current() as Credentials;
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    database: c.dbname,
    password,
    ssl: opts.ssl ?? (c.sslmode === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, servername: c.host }),
  };
}
