import { exportLines, shellQuote, text, TOKEN_FORMAT } from '../client-format-helpers.js';
import type { ClientFormat } from '../engine.js';

// What `dab creds --format` prints for ElastiCache. redis-cli reads the password from REDISCLI_AUTH
// (never from argv, where ps would show it); host, port and user go on its command line.

/** The redis-cli line for a grant in the environment `env` prints ("$REDIS_HOST" ...). */
export const REDIS_CLI = 'redis-cli --tls -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$REDIS_USER"';

export const VALKEY_CLIENT_FORMATS: readonly ClientFormat[] = [
  {
    name: 'env',
    help: `export REDISCLI_AUTH=… REDIS_HOST REDIS_PORT REDIS_USER lines for eval, then ${REDIS_CLI}`,
    render: (g) =>
      `${exportLines({ REDISCLI_AUTH: g.token, REDIS_HOST: g.host, REDIS_PORT: String(g.port), REDIS_USER: g.user })}\n` +
      `# ${REDIS_CLI}${text(g, 'tls') === 'require' ? ' --insecure' : ''}`,
  },
  {
    name: 'uri',
    help: 'a rediss:// URI with the token URL-encoded (TLS)',
    render: (g) => `rediss://${encodeURIComponent(g.user)}:${encodeURIComponent(g.token)}@${g.host}:${g.port}`,
  },
  {
    name: 'redis-cli',
    help: 'one redis-cli command line, the token passed in REDISCLI_AUTH',
    render: (g) =>
      `REDISCLI_AUTH=${shellQuote(g.token)} redis-cli --tls${text(g, 'tls') === 'require' ? ' --insecure' : ''} -h ${shellQuote(g.host)} -p ${g.port} --user ${shellQuote(g.user)}`,
  },
  TOKEN_FORMAT,
];
