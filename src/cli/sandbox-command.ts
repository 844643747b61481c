import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEMO_CACHE } from '../sandbox/resp/demo-cache.js';
import { consoleUrl, SANDBOX_DATABASE, SANDBOX_EC2_APP, SANDBOX_MYSQL_DATABASE, SANDBOX_PRINCIPALS, SANDBOX_REGION, startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { usage, type CliIo } from './cli-errors.js';

export async function sandboxCommand(args: string[], io: CliIo): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { port: { type: 'string' }, 'target-url': { type: 'string' }, 'redis-url': { type: 'string' } } }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  const port = Number(values.port ?? io.env.DAB_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage('--port must be a port number');
  const targetUrl = values['target-url'] ?? io.env.DAB_SANDBOX_TARGET_URL;
  const redisUrl = values['redis-url'] ?? io.env.DAB_SANDBOX_REDIS_URL;
  // The SDK's Node-version notice is for operators of `dab serve`; here it only buries the instructions.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  io.err('dab sandbox: starting (issuer, STS emulator, PostgreSQL, MariaDB and Redis behind IAM gates, dab)…');
  const sandbox = await startSandbox({ port, ...(targetUrl ? { targetUrl } : {}), ...(redisUrl ? { redisUrl } : {}) });
  io.out(instructions(sandbox, dabCommand(io.env.PATH ?? '')));
  const stop = () => {
    io.err('dab sandbox: stopping…');
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** A path as one shell word: as is when it needs no quoting, else single-quoted. */
const shellWord = (s: string) => (/^[\w/.,:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const MAIN_JS = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * How to run this very CLI from another shell: "dab" when it is on PATH and is this install (npm
 * link), else node with main.js's absolute path. (npx dab would copy the project and rebuild it.)
 */
export function dabCommand(path: string, main = MAIN_JS): string {
  const self = realOrNull(main);
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'dab');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (self && realOrNull(candidate) === self) return 'dab';
    break;
  }
  return `node ${shellWord(main)}`;
}

function realOrNull(file: string): string | null {
  try {
    return realpathSync(file);
  } catch {
    return null;
  }
}

/** Step 7: the just-in-time loop: request rw as the demo app, approve as the demo DBA, write, watch it end. */
export function jitStep(dab: string): string {
  return ` 7. Just-in-time rw: request it as the demo app, approve it as the demo DBA, write, watch it end
    (the window here is 2 minutes; --break-glass takes it at once, unapproved, and must be reviewed):

ID=$(${dab} request ${SANDBOX_DATABASE} --access rw --reason "fix order 42" --duration 2m --format id)
${dab} approve "$ID" --version 1 --note "ok for 2 minutes" --token "$DAB_DBA_TOKEN"
eval "$(${dab} creds ${SANDBOX_DATABASE} --access rw --format env)" && psql -c "INSERT INTO pgdemo.orders (product_id, quantity) VALUES (1, 2)"
${dab} requests show "$ID"                      # active, until …
sleep 120; ${dab} creds ${SANDBOX_DATABASE} --access rw   # refused: the window ended
${dab} request ${SANDBOX_DATABASE} --access rw --reason "outage" --duration 10m --break-glass
${dab} requests list --break-glass --unreviewed --token "$DAB_AUDITOR_TOKEN"
`;
}

/** `dab creds --aws` with the EC2 app's credentials and the emulator as STS, in AWS_* variables only. */
export function awsCredsLine(s: Pick<Sandbox, 'dabUrl' | 'sts' | 'ec2App'>, dab = 'dab'): string {
  const vars = {
    AWS_ACCESS_KEY_ID: s.ec2App.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.ec2App.secretAccessKey,
    AWS_SESSION_TOKEN: s.ec2App.sessionToken,
    AWS_REGION: SANDBOX_REGION,
    AWS_ENDPOINT_URL_STS: s.sts.url,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return `${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')} ${dab} creds ${SANDBOX_DATABASE} --access ro --aws --url ${s.dabUrl}`;
}

export function instructions(s: Sandbox, dab = 'dab'): string {
  const gate = `${s.gate.host}:${s.gate.port}`;
  const cache = s.cache;
  return `
================================================================================
 dab sandbox — INSECURE, LOCAL ONLY. Fake IdP, fake STS, demo data. Not for real use.
================================================================================
 dab             ${s.dabUrl}   (embedded store in .dab-sandbox/store, reset at each start)
 web console     ${consoleUrl(s.dabUrl)}   (sign in as ${SANDBOX_PRINCIPALS.dba} or ${SANDBOX_PRINCIPALS.auditor})
 OIDC issuer     ${s.issuer.issuer}
 STS emulator    ${s.sts.url}
 demo database   "${SANDBOX_DATABASE}": PostgreSQL (${s.target.kind === 'throwaway' ? 'throwaway cluster' : 'given server'}) behind the RDS-like IAM gate at ${gate} (TLS, IAM tokens only)
${s.mysql ? ` demo database   "${SANDBOX_MYSQL_DATABASE}": MariaDB (database ${s.mysql.dbname}) behind the MySQL IAM gate at ${s.mysql.gate.host}:${s.mysql.gate.port} (TLS, cleartext token)` : ` (${s.mysqlProblem ?? 'no MySQL demo'})`}
${cache ? ` demo cache      "${DEMO_CACHE.name}": Redis (${cache.upstream.kind === 'throwaway' ? 'throwaway redis-server' : 'given server'}) behind the ElastiCache-like IAM gate at ${cache.gate.host}:${cache.gate.port} (TLS, IAM tokens only)` : ' demo cache      none: no redis-server installed (apt-get install redis-server) and no --redis-url'}

 1. In another shell, paste these (caller tokens valid 12 h):

export DAB_URL=${s.dabUrl}
export DAB_TOKEN=${s.tokens.app}
export DAB_DBA_TOKEN=${s.tokens.dba}
export DAB_AUDITOR_TOKEN=${s.tokens.auditor}

    DAB_TOKEN is "${SANDBOX_PRINCIPALS.app}" (mapped to ro and monitor on "${SANDBOX_DATABASE}", rw on request${cache ? `; ro and rw on "${DEMO_CACHE.name}"` : ''}),
    DAB_DBA_TOKEN is "${SANDBOX_PRINCIPALS.dba}" (admin API), DAB_AUDITOR_TOKEN is "${SANDBOX_PRINCIPALS.auditor}".

 2. Get credentials with curl:

curl -s -X POST "$DAB_URL/v1/credentials" -H "Authorization: Bearer $DAB_TOKEN" -H 'content-type: application/json' -d '{"database":"${SANDBOX_DATABASE}","access":"ro","reason":"trying dab"}'

 3. The same with the dab CLI${dab === 'dab' ? '' : ' ("npm link" in the dab folder puts it on PATH as "dab")'}:

${dab} creds ${SANDBOX_DATABASE} --access ro --reason "trying dab"

 4. Log in with psql, the token as password (ro can read, not write):

eval "$(${dab} creds ${SANDBOX_DATABASE} --access ro --format env)" && psql -c 'SELECT * FROM pgdemo.products'

${mysqlStep(s, dab)}${cache ? redisCliStep(cache.caFile, dab) : ''} 5. See what the DBA sees:

curl -s "$DAB_URL/v1/mappings" -H "Authorization: Bearer $DAB_DBA_TOKEN"

 6. As an app on EC2 with nothing but its instance role (${SANDBOX_EC2_APP.roleArn},
    mapped to ro), no IdP: the AWS credentials prove who it is (works from any shell):

${awsCredsLine(s, dab)}

${jitStep(dab)}
 Ctrl-C stops the sandbox.
`;
}

/** The MySQL demo's login line: the mariadb client reads the option file dab creds prints. */
export function mysqlStep(s: Pick<Sandbox, 'mysql'>, dab: string): string {
  if (!s.mysql) return '';
  return ` 4b. Log in to the MySQL demo with the mariadb (or mysql) client (ro can read, not write):

mariadb --defaults-extra-file=<(${dab} creds ${SANDBOX_MYSQL_DATABASE} --access ro --format cnf) -e 'SELECT * FROM products'

`;
}

/** The redis-cli login: the token in REDISCLI_AUTH, the gate's certificate checked (ro can GET, not SET). */
export function redisCliLine(caFile: string, dab: string, access: 'ro' | 'rw' = 'ro', command = `GET ${DEMO_CACHE.key}`): string {
  return `eval "$(${dab} creds ${DEMO_CACHE.name} --access ${access} --format env)" && redis-cli --tls --cacert ${shellWord(caFile)} -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$REDIS_USER" ${command}`;
}

function redisCliStep(caFile: string, dab: string): string {
  return ` 4c. Log in to the demo cache with redis-cli, the token in REDISCLI_AUTH (ro can GET, not SET):

${redisCliLine(caFile, dab)}

`;
}
