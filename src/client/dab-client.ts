/**
 * The caller side of dab: fetch credentials over HTTP and surface dab's problem+json answers as
 * typed errors. Used by the `dab creds` command and the pg password helper.
 */

export interface Credentials {
  grantId: string;
  /** postgres, mysql, valkey, …: which of the engine-specific fields below come with it. */
  engine: string;
  token: string;
  user: string;
  host: string;
  port: number;
  region: string;
  expiresAt: string;
  /** SQL engines (postgres, mysql). */
  dbname?: string;
  sslmode?: 'require' | 'verify-ca' | 'verify-full';
  /** Any other engine-specific field dab sends. */
  [field: string]: unknown;
}

export type AccessLevel = 'ro' | 'rw' | 'monitor';

export interface CredentialsRequest {
  /** Base URL of dab, e.g. https://dab.internal:8080 */
  url: string;
  /** The caller's bearer JWT, or a function that returns a current one. */
  bearer: string | (() => string | Promise<string>);
  database: string;
  access: AccessLevel;
  reason?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** dab answered with an error (problem+json): `code` is the stable code, e.g. access_denied. */
export class DabProblemError extends Error {
  override name = 'DabProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string | undefined,
    readonly requestId: string | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`dab answered ${status} ${code}${detail ? `: ${detail}` : ''}`);
  }
}

/** dab could not be reached or did not answer in time. */
export class DabUnreachableError extends Error {
  override name = 'DabUnreachableError';
}

export async function requestCredentials(req: CredentialsRequest): Promise<Credentials> {
  return callDab<Credentials>({
    url: req.url,
    path: '/v1/credentials',
    method: 'POST',
    bearer: req.bearer,
    body: { database: req.database, access: req.access, ...(req.reason ? { reason: req.reason } : {}) },
    ...(req.timeoutMs ? { timeoutMs: req.timeoutMs } : {}),
    ...(req.fetch ? { fetch: req.fetch } : {}),
  });
}

export interface DabCall {
  /** Base URL of dab. */
  url: string;
  /** Path and query, e.g. /v1/audit/verify?fromId=1 */
  path: string;
  method: 'GET' | 'POST';
  bearer: string | (() => string | Promise<string>);
  body?: unknown;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** One JSON call to dab: the answer's body, or DabProblemError / DabUnreachableError. */
export async function callDab<T>(call: DabCall): Promise<T> {
  const bearer = typeof call.bearer === 'function' ? await call.bearer() : call.bearer;
  const endpoint = new URL(call.path, call.url);
  let response: Response;
  try {
    response = await (call.fetch ?? fetch)(endpoint, {
      method: call.method,
      headers: { authorization: `Bearer ${bearer}`, accept: 'application/json', ...(call.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(call.timeoutMs ?? 15_000),
    });
  } catch (err) {
    throw unreachable(endpoint, err);
  }
  const text = await response.text();
  if (!response.ok) throw problemError(response, text);
  try {
    return JSON.parse(text) as T;
  } catch {
    // A proxy's or another service's page answering 200: say so, not "Unexpected token <".
    throw new DabProblemError(response.status, 'not_json', `${endpoint.origin} answered with something that is not JSON: is the URL really dab?`, undefined, undefined);
  }
}

/** A fetch to dab that failed before any answer (refused, reset, DNS, timeout). */
export function unreachable(endpoint: URL, err: unknown): DabUnreachableError {
  return new DabUnreachableError(`cannot reach dab at ${endpoint.origin} (${whyUnreachable(err)})`);
}

/** The network's reason (ECONNREFUSED, ENOTFOUND…) in words a caller can act on; never a JS class name. */
function whyUnreachable(err: unknown): string {
  const name = (err as { name?: string }).name;
  if (name === 'TimeoutError') return 'no answer in time';
  if (name === 'AbortError') return 'cancelled';
  type Cause = { code?: unknown; cause?: Cause; errors?: Cause[] };
  const cause = (err as { cause?: Cause }).cause;
  // fetch wraps the socket error once, or in an AggregateError when it tried several addresses.
  const code = cause?.code ?? cause?.cause?.code ?? cause?.errors?.[0]?.code;
  return typeof code === 'string' ? code : 'the connection failed';
}

/** dab's error answer (problem+json, with `text` its body) as a DabProblemError. */
export function problemError(response: Response, text: string): DabProblemError {
  let problem: { code?: string; detail?: string; requestId?: string } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // Not dab's problem+json (a proxy's error page, say): keep the status.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new DabProblemError(response.status, problem.code ?? 'http_error', problem.detail, problem.requestId, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
}
