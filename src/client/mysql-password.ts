import type { Credentials } from './dab-client.js';
import { dabPassword, type DabPasswordOptions } from './pg-password.js';

/**
 * A ready mysql2 config (createConnection or createPool) for a MySQL/MariaDB database registered in
 * dab: fetches one grant to learn host, port, user and database, then gives every new connection a
 * fresh token through the cleartext auth plugin (RDS's AWSAuthenticationPlugin asks for it; mysql2
 * ≥ 3.22 refuses it unless enableCleartextPlugin is set). A token is only checked at connect time,
 * so open connections are unaffected by its expiry. TLS follows dab's sslmode (RDS requires TLS);
 * pass `ssl` yourself to add the RDS CA bundle for verify-full.
 */
export async function dabMysqlConfig(opts: DabPasswordOptions & { ssl?: object }) {
  const password = dabPassword(opts);
  await password();
  const c = password.current() as Credentials;
  if (c.engine !== 'mysql') throw new Error(`dabMysqlConfig: database ${opts.database} is engine ${c.engine}, not mysql`);
  // The plugin is asked once per connection, after the server switched to it: the cached token, or a new one.
  const clearPassword = () => async () => Buffer.from(`${await password()}\0`);
  const config = {
    host: c.host,
    port: c.port,
    user: c.user,
    database: c.dbname,
    enableCleartextPlugin: true,
    authPlugins: { mysql_clear_password: clearPassword },
    ssl: opts.ssl ?? (c.sslmode === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, servername: c.host }),
  };
  // Not enumerable: spreading the config into mysql2 must not hand it an option it does not know.
  return Object.defineProperty(config, 'current', { value: password.current, enumerable: false }) as typeof config & { readonly current: () => Credentials | undefined };
}
