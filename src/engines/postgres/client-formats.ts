import type { ClientFormat } from '../engine.js';
import { exportLines, text, TOKEN_FORMAT } from '../client-format-helpers.js';

const pgpassEscape = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

/** What `dab creds --format` prints for PostgreSQL: libpq's environment, URI and .pgpass forms. */
export const POSTGRES_CLIENT_FORMATS: readonly ClientFormat[] = [
  {
    name: 'env',
    help: 'export PGHOST=… PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE lines for eval (psql, libpq)',
    render: (g) => exportLines({ PGHOST: g.host, PGPORT: String(g.port), PGUSER: g.user, PGPASSWORD: g.token, PGDATABASE: text(g, 'dbname'), PGSSLMODE: text(g, 'sslmode') }),
  },
  {
    name: 'uri',
    help: 'a libpq URI with the token URL-encoded',
    render: (g) => `postgresql://${encodeURIComponent(g.user)}:${encodeURIComponent(g.token)}@${g.host}:${g.port}/${encodeURIComponent(text(g, 'dbname'))}?sslmode=${text(g, 'sslmode')}`,
  },
  {
    name: 'pgpass',
    help: 'a ~/.pgpass line',
    render: (g) => [g.host, String(g.port), text(g, 'dbname'), g.user, g.token].map(pgpassEscape).join(':'),
  },
  TOKEN_FORMAT,
];
