import type { ClientFormat } from '../engine.js';
import { exportLines, text, TOKEN_FORMAT } from '../client-format-helpers.js';

// RDS MySQL/MariaDB take the token with the cleartext plugin over TLS. The mysql CLI sends it only
// with --enable-cleartext-plugin (or LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1); the MariaDB CLI sends it
// as is. Option files take `loose-` options, which the client that does not know one skips, so
// one file works for both.

const SSL_MODE: Record<string, string> = { require: 'REQUIRED', 'verify-ca': 'VERIFY_CA', 'verify-full': 'VERIFY_IDENTITY' };
const sslModeOf = (g: Parameters<ClientFormat['render']>[0]) => SSL_MODE[text(g, 'sslmode')] ?? 'REQUIRED';

/** An option-file value, double-quoted (the token holds = & % /). */
const optionValue = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export const MYSQL_CLIENT_FORMATS: readonly ClientFormat[] = [
  {
    name: 'env',
    help: 'export MYSQL_HOST MYSQL_TCP_PORT MYSQL_PWD LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1 DAB_DB_USER DAB_DB_NAME for eval; then mysql --user="$DAB_DB_USER" "$DAB_DB_NAME"',
    render: (g) =>
      exportLines({
        MYSQL_HOST: g.host,
        MYSQL_TCP_PORT: String(g.port),
        MYSQL_PWD: g.token,
        LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN: '1',
        // Neither client reads a user or database from the environment: these are for the command line.
        DAB_DB_USER: g.user,
        DAB_DB_NAME: text(g, 'dbname'),
      }),
  },
  {
    name: 'cnf',
    help: 'a [client] option file for mysql and mariadb: mysql --defaults-extra-file=<(dab creds …) (TLS, cleartext plugin)',
    render: (g) =>
      [
        '[client]',
        `host=${g.host}`,
        `port=${g.port}`,
        `user=${optionValue(g.user)}`,
        `password=${optionValue(g.token)}`,
        `database=${optionValue(text(g, 'dbname'))}`,
        // mysql (Oracle): TLS mode and the cleartext plugin; MariaDB sends cleartext as is.
        `loose-ssl-mode=${sslModeOf(g)}`,
        'loose-enable-cleartext-plugin',
        // MariaDB: TLS on, and the server certificate checked unless the registration says require.
        'loose-ssl',
        ...(text(g, 'sslmode') === 'require' ? ['loose-skip-ssl-verify-server-cert'] : ['loose-ssl-verify-server-cert']),
      ].join('\n'),
  },
  {
    name: 'uri',
    help: 'a mysql:// URI (MySQL Shell, mysql2) with the token URL-encoded, TLS and the cleartext plugin asked for',
    render: (g) =>
      `mysql://${encodeURIComponent(g.user)}:${encodeURIComponent(g.token)}@${g.host}:${g.port}/${encodeURIComponent(text(g, 'dbname'))}?ssl-mode=${sslModeOf(g)}&auth-method=mysql_clear_password`,
  },
  TOKEN_FORMAT,
];
