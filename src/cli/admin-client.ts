import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DabProblemError, DabUnreachableError, problemError, unreachable } from '../client/dab-client.js';
import { CliError, EXIT, parseFailure, usage, type CliIo } from './cli-errors.js';
import { bearerToken, CONNECTION_OPTIONS, dabUrl } from './dab-connection.js';
import { lightFetch } from './light-fetch.js';

/** --url, --token, --token-command and --timeout, as every admin command takes them. */
export const ADMIN_OPTIONS = { ...CONNECTION_OPTIONS, timeout: { type: 'string', default: '60' } } as const;

export const connectionHelp = (who = "a DBA's (admin)") => `      --url URL            dab's base URL (env DAB_URL)
      --token JWT          ${who} bearer token (env DAB_TOKEN)
      --token-command CMD  a command that prints one (env DAB_TOKEN_COMMAND)
      --timeout SECONDS    give up after this long (default 60)
  -h, --help               this help`;

export const EXIT_HELP = `Exit codes: 0 ok, 2 usage or an invalid file (each problem printed as FILE:LINE:COL: …),
1 refused (not found, conflict, version changed), 4 dab unreachable, 5 not a DBA (admin),
6 token rejected, 7 dab or its store unavailable.`;

/** node:util parseArgs, with its complaints as usage errors (exit 2). */
export function parseOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw parseFailure(err);
  }
}

/** A file's text; "-" reads standard input. */
export function readInput(path: string): { name: string; text: string } {
  try {
    return path === '-' ? { name: '<stdin>', text: readFileSync(0, 'utf8') } : { name: path, text: readFileSync(path, 'utf8') };
  } catch (err) {
    throw new CliError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.failure);
  }
}

/** One field-level complaint from dab's problem+json `errors` list, e.g. body.document.mappings.2.selector. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** dab's problem+json answer, with the field errors DabProblemError does not keep. */
export class AdminProblemError extends DabProblemError {
  constructor(
    base: DabProblemError,
    readonly errors: FieldProblem[],
  ) {
    super(base.status, base.code, base.detail, base.requestId, base.retryAfterSeconds);
  }
}

/** Where dab is and who the caller is: resolved from --url/--token/--token-command and the environment. */
export interface AdminConnection {
  url: string;
  bearer: () => Promise<string>;
  timeoutMs: number;
}

export function connectionFrom(values: { url?: string | undefined; token?: string | undefined; 'token-command'?: string | undefined; timeout?: string | undefined }, io: CliIo): AdminConnection {
  const timeout = Number(values.timeout ?? '60');
  if (!(timeout > 0)) throw usage('--timeout must be a positive number of seconds');
  const url = dabUrl(values.url, io);
  let cached: Promise<string> | undefined;
  return { url, bearer: () => (cached ??= bearerToken(values.token, values['token-command'], io)), timeoutMs: timeout * 1000 };
}

/** One JSON call to dab; errors as AdminProblemError (with field errors) or DabUnreachableError. */
export async function adminCall<T>(conn: AdminConnection, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const bearer = await conn.bearer();
  const endpoint = new URL(path, conn.url);
  let response: Response;
  try {
    response = await lightFetch(endpoint, {
      method,
      headers: { authorization: `Bearer ${bearer}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(conn.timeoutMs),
    });
  } catch (err) {
    throw unreachable(endpoint, err);
  }
  const text = await response.text();
  if (!response.ok) throw new AdminProblemError(problemError(response, text), fieldErrors(text));
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`dab answered ${method} ${endpoint.pathname} with something that is not JSON: is --url / DAB_URL really dab?`, EXIT.failure);
  }
}

function fieldErrors(text: string): FieldProblem[] {
  try {
    const errors = (JSON.parse(text) as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.filter((e): e is FieldProblem => typeof e?.field === 'string' && typeof e?.message === 'string');
  } catch {
    return [];
  }
}

/** What the caller was trying to do, for messages: "apply access.yaml", "read database orders". */
export interface Attempt {
  what: string;
  /** The tier the call needs, for a 403: "a DBA's (admin) token". */
  needs?: string;
  /** Message for a 404 (e.g. `no database named "x"`); default: dab's detail. */
  notFound?: string;
}

/** Maps a failed call to one CliError with the exit codes every dab command uses. */
export function explainFailure(err: unknown, conn: AdminConnection, attempt: Attempt): Error {
  if (err instanceof CliError) return err;
  if (err instanceof DabUnreachableError) return new CliError(`${err.message}: is dab running there? Check --url / DAB_URL`, EXIT.unreachable);
  if (!(err instanceof DabProblemError)) return new CliError(`unexpected failure: ${(err as Error).message ?? String(err)}`, EXIT.failure);
  const ref = err.requestId ? ` (request ${err.requestId})` : '';
  const detail = err.detail ? `: ${err.detail}` : '';
  switch (true) {
    case err.status === 401:
      return new CliError(`dab rejected your token${detail}: get a fresh one (DAB_TOKEN / DAB_TOKEN_COMMAND)${ref}`, EXIT.unauthenticated);
    // "It needs a DBA's token" is right for forbidden (wrong tier) alone; any other 403 is dab's own words.
    case err.status === 403 && err.code === 'forbidden':
      return new CliError(`dab refused to ${attempt.what}${detail}; it needs ${attempt.needs ?? "a DBA's (admin) token"}${ref}`, EXIT.denied);
    case err.status === 403:
      return new CliError(`dab refused to ${attempt.what} (${err.code})${detail}${ref}`, EXIT.denied);
    case err.status === 404 && err.code === 'not_found' && /^No route for/.test(err.detail ?? ''):
      return new CliError(`dab at ${conn.url} does not offer this (${err.detail}): is it an older version?${ref}`, EXIT.failure);
    case err.status === 404:
      return new CliError(`${attempt.notFound ?? `cannot ${attempt.what}`}${attempt.notFound ? '' : detail}${ref}`, EXIT.failure);
    case err.status === 400:
      return new CliError(`cannot ${attempt.what}: ${err.code}${detail}${ref}`, EXIT.usage);
    case err.status === 409 || err.status === 412 || err.status === 428:
      return new CliError(`cannot ${attempt.what}: ${err.code}${detail}${ref}`, EXIT.failure);
    case err.status >= 500:
      return new CliError(`dab could not ${attempt.what} (${err.code}${detail})${err.retryAfterSeconds ? `; retry in ${err.retryAfterSeconds} s` : ''}${ref}`, EXIT.unavailable);
    default:
      return new CliError(`dab refused to ${attempt.what} (${err.status} ${err.code}${detail})${ref}`, EXIT.failure);
  }
}
