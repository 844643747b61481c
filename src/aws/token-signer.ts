import { createPresigner, presign, type PresignTarget } from './sigv4-presign.js';
import type { AssumedCredentials } from './sts-client.js';

export interface TokenRequest {
  /** What the engine's token signs (src/engines/: rds-db for SQL engines, elasticache for caches). */
  target: PresignTarget;
  region: string;
  credentials: AssumedCredentials;
}

/** Mints a database IAM auth token. Offline (no AWS call): a SigV4 presigned URL. */
export type SignToken = (request: TokenRequest) => Promise<string>;

/**
 * The grant path's signer: the same bytes @aws-sdk/rds-signer returns for the same request and
 * second, in a sixth of its CPU time or less (npm run bench:sign), because signing keys and escaped
 * session tokens are cached (bounded by maxCachedKeys: size it like the STS session cache).
 * The library stays in the repo as the test oracle only. Signs with the wall clock, as the library does.
 */
export function createTokenSigner(opts: { maxCachedKeys: number; nowMs?: () => number }): SignToken {
  const presigner = createPresigner({ maxCachedKeys: opts.maxCachedKeys });
  const nowMs = opts.nowMs ?? Date.now;
  return (request) => {
    try {
      return Promise.resolve(presigner.presign(request, nowMs()));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** An uncached signer (derives the key every call): for one-off signing outside the grant path. */
export const signToken: SignToken = async (request) => presign(request, Date.now());

const AMZ_DATE = /[?&]X-Amz-Date=(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:&|$)/;

/** The signing time a token carries (X-Amz-Date, whole seconds, UTC); undefined if it has none. */
export function tokenSignedAt(token: string): Date | undefined {
  const m = AMZ_DATE.exec(token);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** Every input of a presign but the credentials and the clock, in a form no two requests share. */
function targetKey({ target, region }: TokenRequest): string {
  const params = Object.entries(target.params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([target.service, target.signedHost, target.urlHost ?? null, target.expiresSeconds, region, params]);
}

export type TokenSource = 'signed' | 'reused';

/**
 * SigV4 presigning is a pure function of (credentials, target, region, signing second):
 * the signer (like rds-signer), asked twice within one second, returns the same string twice. So a token signed
 * earlier in the current second is handed out again instead of being computed again — the caller
 * gets exactly the bytes a fresh call would give, with the same expiry.
 *
 * Entries hang off the credentials object (a WeakMap), and credentials are per caller (the STS
 * session cache keys them by caller), so a token is never shared across callers, and an entry goes
 * away with its session. It matters when many replicas of one app fetch at once (a rollout, a pool
 * warming up). With the cached presigner a fresh token costs tens of µs, not hundreds; a reuse
 * still costs ~1.5 µs against ~40 µs of CPU (npm run bench:sign), and the cost is one small map
 * per session, so it stays.
 */
export function reuseWithinSigningSecond(sign: SignToken, onToken: (source: TokenSource) => void = () => {}, nowMs: () => number = Date.now): SignToken {
  const bySession = new WeakMap<AssumedCredentials, Map<string, { second: number; token: string }>>();
  return async (request) => {
    let tokens = bySession.get(request.credentials);
    const key = targetKey(request);
    const entry = tokens?.get(key);
    // The signer signs with the wall clock, so "the current second" is the wall clock's too.
    if (entry && entry.second === Math.floor(nowMs() / 1000)) {
      onToken('reused');
      return entry.token;
    }
    const token = await sign(request);
    onToken('signed');
    const signedAt = tokenSignedAt(token);
    if (signedAt) {
      if (!tokens) bySession.set(request.credentials, (tokens = new Map()));
      tokens.set(key, { second: signedAt.getTime() / 1000, token });
    }
    return token;
  };
}
