import { createHash } from 'node:crypto';
import type { Caller } from './caller.js';

export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered; the least recently used is dropped beyond it. 0 turns the cache off. */
  maxEntries: number;
  /** Longest a verification is trusted before the token is verified again against the JWKS. */
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
}

interface Entry {
  caller: Caller;
  /** The token's exp (seconds): past it (less the tolerance), the token is expired as jose says. */
  exp: number;
  /** Wall-clock ms after which this verification is not reused. */
  reverifyAtMs: number;
}

export type CacheLookup = { caller: Caller } | { expired: true } | null;

export interface VerifiedTokenCache {
  get(token: string, nowMs: number): CacheLookup;
  set(token: string, caller: Caller, exp: number, nowMs: number): void;
  readonly size: number;
}

/**
 * Verified bearer tokens, so an application that sends the same JWT on every request (they mostly
 * do, for its whole hour) costs one RSA/ECDSA verification per maxAgeSeconds instead of one per
 * request: the signature check was the largest single cost of a grant (bench: ~a quarter of dab's CPU).
 *
 * Why this is safe:
 * - the key is SHA-256 of the whole compact token, signature included: any changed byte misses;
 * - only successes are stored, after every check (signature, iss, aud, alg, exp, nbf, lifetime)
 *   passed; failures are never remembered, so nothing can be planted;
 * - exp is checked again on every hit with jose's rule, so a cached token expires on time;
 * - a verification is reused for at most maxAgeSeconds, which the verifier caps at the JWKS cache's
 *   life: a key withdrawn from the JWKS stops working within the bound it did before this cache.
 */
export function createVerifiedTokenCache(opts: VerifiedTokenCacheOptions): VerifiedTokenCache {
  const entries = new Map<string, Entry>();
  const keyOf = (token: string) => createHash('sha256').update(token).digest('base64');
  return {
    get(token, nowMs) {
      if (opts.maxEntries === 0) return null;
      const key = keyOf(token);
      const entry = entries.get(key);
      if (!entry) return null;
      entries.delete(key);
      if (nowMs >= entry.reverifyAtMs) return null;
      // jose's rule: expired when exp <= now - tolerance.
      if (entry.exp <= Math.floor(nowMs / 1000) - opts.clockToleranceSeconds) return { expired: true };
      entries.set(key, entry); // most recently used last
      return { caller: entry.caller };
    },
    set(token, caller, exp, nowMs) {
      if (opts.maxEntries === 0) return;
      const key = keyOf(token);
      entries.delete(key);
      entries.set(key, { caller, exp, reverifyAtMs: nowMs + opts.maxAgeSeconds * 1000 });
      while (entries.size > opts.maxEntries) entries.delete(entries.keys().next().value as string);
    },
    get size() {
      return entries.size;
    },
  };
}
