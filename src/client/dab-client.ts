/**
 * The caller side of dab: fetch credentials over HTTP and surface dab's problem+json answers as
 * typed errors. Used by the `dab creds` command and the pg password helper.
 */

export interface Credentials {
  grantId: string;
  token: string;
  user: string;
  host: string;
  port: number;
  dbname: string;
  region: string;
  expiresAt: string;
  sslmode: 'require' | 'verify-ca' | 'verify-full';
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
  const bearer = typeof req.bearer === 'function' ? await req.bearer() : req.bearer;
  const endpoint = new URL('/v1/credentials', req.url);
  let response: Response;
  try {
    response = await (req.fetch ?? fetch)(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ database: req.database, access: req.access, ...(req.reason ? { reason: req.reason } : {}) }),
      signal: AbortSignal.timeout(req.timeoutMs ?? 15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new DabUnreachableError(`cannot reach dab at ${endpoint.origin} (${cause})`);
  }
  const text = await response.text();
  if (!response.ok) {
    let problem: { code?: string; detail?: string; requestId?: string } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // Not dab's problem+json (a proxy's error page, say): keep the status.
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new DabProblemError(response.status, problem.code ?? 'http_error', problem.detail, problem.requestId, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
  }
  return JSON.parse(text) as Credentials;
}
