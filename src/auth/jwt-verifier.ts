import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Config, IssuerConfig } from '../config/config-schema.js';
import { AppError } from '../http/problem.js';
import type { Caller } from './caller.js';
import { lifetimeProblem, withFailureReason } from './token-lifetime.js';
import { createVerifiedTokenCache } from './verified-token-cache.js';

export interface JwtVerifier {
  /** Verifies a bearer JWT against its issuer's keys; throws AppError 401 (bad token) or 503 (IdP unreachable). */
  verify(token: string): Promise<Caller>;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

const REALM = 'Bearer realm="dab"';

export function unauthenticated(description: string, error = 'invalid_token'): AppError {
  return new AppError('unauthenticated', description, {
    // RFC 6750 §3: error_description may not hold '"' or '\' (they would end the quoted-string).
    wwwAuthenticate: `${REALM}, error="${error}", error_description="${description.replace(/["\\]/g, "'")}"`,
  });
}

export interface JwtVerifierOptions {
  /** Told whether each verification was answered from the verified-token cache (for metrics). */
  onCacheLookup?: (hit: boolean) => void;
  nowMs?: () => number;
}

export function createJwtVerifier(auth: Config['auth'], fetchImpl: typeof fetch = fetch, opts: JwtVerifierOptions = {}): JwtVerifier {
  const nowMs = opts.nowMs ?? Date.now;
  const keySets = new Map<string, Promise<KeySet>>();
  // Never trusted longer than the key set it was checked against: a key retired from the JWKS then
  // stops working within jwksCacheMaxAgeSeconds, cached verifications or not.
  const cache = createVerifiedTokenCache({
    maxEntries: auth.verifiedTokenCache.maxEntries,
    maxAgeSeconds: Math.min(auth.verifiedTokenCache.maxAgeSeconds, auth.jwksCacheMaxAgeSeconds),
    clockToleranceSeconds: auth.clockToleranceSeconds,
  });

  // OIDC discovery runs lazily on first use, and is retried after a failure rather than cached.
  function keySetFor(issuer: IssuerConfig): Promise<KeySet> {
    let pending = keySets.get(issuer.issuer);
    if (!pending) {
      pending = resolveJwksUrl(issuer).then((url) =>
        createRemoteJWKSet(url, {
          cooldownDuration: auth.jwksCooldownSeconds * 1000,
          cacheMaxAge: auth.jwksCacheMaxAgeSeconds * 1000,
          timeoutDuration: auth.jwksTimeoutMs,
        }),
      );
      pending.catch(() => keySets.delete(issuer.issuer));
      keySets.set(issuer.issuer, pending);
    }
    return pending;
  }

  async function resolveJwksUrl(issuer: IssuerConfig): Promise<URL> {
    if (issuer.jwksUrl) return new URL(issuer.jwksUrl);
    const discovery = `${issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetchImpl(discovery, { signal: AbortSignal.timeout(auth.jwksTimeoutMs) });
    if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
    const doc = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof doc.jwks_uri !== 'string' || doc.issuer !== issuer.issuer) throw new Error('OIDC discovery document is not for this issuer');
    return new URL(doc.jwks_uri);
  }

  return {
    async verify(token) {
      const now = nowMs();
      const cached = cache.get(token, now);
      opts.onCacheLookup?.(cached !== null && 'caller' in cached);
      if (cached) {
        if ('expired' in cached) throw unauthenticated('the token has expired');
        return cached.caller;
      }
      const { caller, exp } = await verifyAgainstKeys(token);
      cache.set(token, caller, exp, now);
      return caller;
    },
  };

  async function verifyAgainstKeys(token: string): Promise<{ caller: Caller; exp: number }> {
      let claimedIssuer: unknown;
      try {
        claimedIssuer = decodeJwt(token).iss;
      } catch {
        throw unauthenticated('the bearer token is not a JWT');
      }
      const issuer = auth.issuers.find((i) => i.issuer === claimedIssuer);
      if (!issuer) throw unauthenticated('the token issuer is not trusted');

      let keySet: KeySet;
      try {
        keySet = await keySetFor(issuer);
      } catch {
        throw idpUnavailable();
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet, {
          issuer: issuer.issuer,
          audience: issuer.audience,
          algorithms: issuer.algorithms,
          clockTolerance: auth.clockToleranceSeconds,
          requiredClaims: ['exp'],
          currentDate: new Date(nowMs()),
        }));
      } catch (err) {
        throw classify(err);
      }
      const bounds = { maxTokenLifetimeSeconds: issuer.maxTokenLifetimeSeconds, clockToleranceSeconds: auth.clockToleranceSeconds };
      const lifetime = lifetimeProblem(payload, bounds, Math.floor(nowMs() / 1000));
      if (lifetime) throw withFailureReason(unauthenticated(lifetime.description), lifetime.reason);
      // requiredClaims made jose check exp is present and a number.
      return { caller: callerFromClaims(issuer, payload), exp: payload.exp as number };
  }
}

function idpUnavailable(): AppError {
  return new AppError('idp_unavailable', 'the identity provider signing keys cannot be fetched', { retryAfterSeconds: 5 });
}

function classify(err: unknown): AppError {
  if (err instanceof errors.JWTExpired) return unauthenticated('the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    const what = err.claim === 'nbf' ? 'the token is not yet valid' : `the token claim "${err.claim}" is not acceptable`;
    return unauthenticated(what);
  }
  if (err instanceof errors.JWKSNoMatchingKey) return unauthenticated('no signing key matches the token');
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthenticated('the token algorithm is not allowed');
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return idpUnavailable();
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthenticated('the token signature is invalid');
  if (err instanceof errors.JOSEError && !/200 OK|fetch|JSON Web Key Set/i.test(err.message)) return unauthenticated('the token is invalid');
  // Anything else means the key set could not be fetched: fail closed, but say it is not the caller's fault.
  return idpUnavailable();
}

function callerFromClaims(issuer: IssuerConfig, payload: JWTPayload): Caller {
  const subject = payload[issuer.subjectClaim];
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 512) {
    throw unauthenticated(`the token has no usable "${issuer.subjectClaim}" claim`);
  }
  const rawGroups = payload[issuer.groupsClaim];
  const groups = (Array.isArray(rawGroups) ? rawGroups : typeof rawGroups === 'string' ? [rawGroups] : [])
    .filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 256)
    .slice(0, 256);
  return Object.freeze({ issuer: issuer.issuer, subject, groups: Object.freeze([...new Set(groups)]) as string[], claims: Object.freeze(payload) });
}
