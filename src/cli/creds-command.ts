import { parseArgs } from 'node:util';
import { DabProblemError, DabUnreachableError, requestCredentials, type AccessLevel, type Credentials } from '../client/dab-client.js';
import { clientFormatsOf, ENGINE_CLIENT_FORMATS } from '../engines/client-format-registry.js';
import { CliError, EXIT, parseFailure, usage, type CliIo } from './cli-errors.js';
import { lightFetch } from './light-fetch.js';
import { bearerToken, CONNECTION_OPTIONS, dabUrl } from './dab-connection.js';

// Still importable from here for commands written before dab-connection.ts existed.

export const CREDS_HELP = `Usage: dab creds <database> --access ro|rw|monitor [options]

Gets a 15-minute IAM auth token for your mapped DB user (RDS/Aurora PostgreSQL, MySQL, MariaDB,
ElastiCache).

Options:
  -a, --access LEVEL      ro, rw or monitor (required)
  -r, --reason TEXT       why you need access (recorded in the audit log)
      --format FORMAT     json (default), or one of the database engine's formats below
      --url URL           dab's base URL (env DAB_URL)
      --token JWT         your bearer token (env DAB_TOKEN)
      --token-command CMD a command that prints your bearer token (env DAB_TOKEN_COMMAND)
      --aws               prove your AWS identity instead (the AWS SDK's default credential
                          chain; STS endpoint from AWS_ENDPOINT_URL_STS / AWS_REGION)
      --aws-server-id ID  dab's auth.aws.serverId (env DAB_AWS_SERVER_ID; default: asked of dab)
      --timeout SECONDS   give up after this long (default 15)
  -h, --help              this help

Formats, per engine:
${ENGINE_CLIENT_FORMATS.map((e) => `  ${e.name} (${e.title}):\n${e.formats.map((f) => `    ${f.name.padEnd(8)} ${f.help}`).join('\n')}`).join('\n')}

Examples:
  eval "$(dab creds orders --access ro --format env)" && psql -c 'select 1'
  dab creds orders --access ro --aws        # on EC2/ECS/EKS/Lambda: the role it runs as
  psql "$(dab creds orders -a ro --format uri)"

Exit codes: 0 ok, 2 usage, 4 dab unreachable, 5 access denied, 6 caller token rejected,
7 dab or a dependency unavailable, 1 anything else.`;

const FORMATS = ['json', ...new Set(ENGINE_CLIENT_FORMATS.flatMap((e) => e.formats.map((f) => f.name)))];
const LEVELS = ['ro', 'rw', 'monitor'];

export async function credsCommand(args: string[], io: CliIo): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        access: { type: 'string', short: 'a' },
        reason: { type: 'string', short: 'r' },
        format: { type: 'string', default: 'json' },
        ...CONNECTION_OPTIONS,
        aws: { type: 'boolean', default: false },
        'aws-server-id': { type: 'string' },
        timeout: { type: 'string', default: '15' },
      },
    });
  } catch (err) {
    throw parseFailure(err);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw usage('name exactly one database, e.g. dab creds orders --access ro');
  const database = positionals[0] as string;
  if (!values.access || !LEVELS.includes(values.access)) throw usage('--access must be ro, rw or monitor');
  const format = values.format as string;
  if (!FORMATS.includes(format)) throw usage(`--format must be one of ${FORMATS.join(', ')}`);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw usage('--timeout must be a positive number of seconds');
  const url = dabUrl(values.url, io);
  if (values.aws && (values.token || values['token-command'])) throw usage('--aws proves an AWS identity: leave out --token and --token-command');
  if (values['aws-server-id'] && !values.aws) throw usage('--aws-server-id goes with --aws');
  const bearer = values.aws ? await awsBearer(url, values['aws-server-id'], io) : () => bearerToken(values.token, values['token-command'], io);

  let credentials: Credentials;
  try {
    credentials = await requestCredentials({
      url,
      bearer,
      database,
      access: values.access as AccessLevel,
      ...(values.reason ? { reason: values.reason } : {}),
      timeoutMs: timeout * 1000,
      fetch: lightFetch,
    });
  } catch (err) {
    throw explain(err, database, values.access, url, values.aws === true);
  }
  io.out(render(credentials, format));
}

/** dab's answer as one line: its own detail, plus a hint only where the hint is right for that code. */
function explain(err: unknown, database: string, level: string, url: string, aws: boolean): Error {
  if (err instanceof CliError) return err;
  if (err instanceof DabUnreachableError) return new CliError(`${err.message}: is dab running there? Check --url / DAB_URL`, EXIT.unreachable);
  if (!(err instanceof DabProblemError)) return new CliError(`unexpected failure: ${(err as Error).message ?? String(err)}`, EXIT.failure);
  const ref = err.requestId ? ` (request ${err.requestId})` : '';
  const detail = err.detail ? `: ${err.detail}` : '';
  switch (true) {
    case err.status === 401 && aws:
      return new CliError(`dab rejected your AWS proof${detail}; check the AWS credentials this shell has (aws sts get-caller-identity) and --aws-server-id${ref}`, EXIT.unauthenticated);
    case err.status === 401:
      return new CliError(`dab rejected your caller token${detail}; get a fresh one (--token / DAB_TOKEN / DAB_TOKEN_COMMAND)${ref}`, EXIT.unauthenticated);
    case err.code === 'access_denied' && /pending approval$/.test(err.detail ?? ''):
      return new CliError(`access denied: ${err.detail}; an approver runs dab approve (see dab requests show)${ref}`, EXIT.denied);
    case err.code === 'access_denied':
      // dab answers an unknown database and a missing mapping alike (no enumeration), so the hint covers both.
      return new CliError(`access denied: you have no ${level} mapping on "${database}"; ask a DBA for one, or request it for a while where a policy allows (dab request ${database} --access ${level} --reason … --duration 1h)${ref}`, EXIT.denied);
    case err.code === 'reason_required':
      return new CliError(`dab needs a reason for ${level} on "${database}"${detail}; run it again with --reason TEXT${ref}`, EXIT.denied);
    case err.status === 403:
      return new CliError(`dab refused (${err.code})${detail}${ref}`, EXIT.denied);
    case err.status >= 500:
      return new CliError(`dab could not issue credentials (${err.code}${detail})${err.retryAfterSeconds ? `; retry in ${err.retryAfterSeconds} s` : ''}${ref}`, EXIT.unavailable);
    case err.code === 'not_json':
      return new CliError(`${err.detail ?? 'dab answered with something that is not JSON'} (check --url / DAB_URL)`, EXIT.failure);
    default:
      return new CliError(`dab refused the request at ${url} (${err.status} ${err.code}${detail})${ref}`, EXIT.failure);
  }
}

/** The AWS proof signer, loaded only for --aws (it loads the AWS SDK when it first signs). */
async function awsBearer(url: string, serverId: string | undefined, io: CliIo): Promise<() => Promise<string>> {
  const { awsProofBearer } = await import('../client/aws-proof.js');
  const sign = awsProofBearer({ dabUrl: url, env: io.env, fetch: lightFetch, ...(serverId ? { serverId } : {}) });
  return async () => {
    try {
      return await sign();
    } catch (err) {
      // No credentials in the chain, an unreadable profile, dab without AWS callers: say which.
      throw new CliError(`cannot make an AWS proof: ${(err as Error).message.split('\n')[0]}`, EXIT.unauthenticated);
    }
  };
}

/** The grant in the chosen format: json, or one the grant's engine offers. */
export function render(c: Credentials, format: string): string {
  if (format === 'json') return JSON.stringify(c, null, 2);
  // A grant from a dab older than engines has no engine field: it was PostgreSQL.
  const engine = clientFormatsOf(c.engine ?? 'postgres');
  const chosen = engine?.formats.find((f) => f.name === format);
  if (!engine || !chosen) {
    const offered = engine ? engine.formats.map((f) => f.name).join(', ') : 'none (this dab CLI does not know that engine; use --format json)';
    throw usage(`--format ${format} is not offered for engine ${c.engine}; its formats: json, ${offered}`);
  }
  return chosen.render(c);
}
