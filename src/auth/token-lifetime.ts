import type { JWTPayload } from 'jose';
import type { AppError } from '../http/problem.js';

/**
 * Bounds on a verified token's lifetime. A valid signature is not enough: a token minted with
 * `exp` ten years away (a misconfigured IdP, or a stolen signing key used with care) would stay
 * usable long after it should have been rotated, and one "issued" in the future was made by a
 * clock or a key that cannot be trusted.
 */
export interface LifetimeBounds {
  /** Longest accepted exp - iat (or exp - now, when the token has no iat), in seconds. */
  maxTokenLifetimeSeconds: number;
  clockToleranceSeconds: number;
}

export type LifetimeProblem = { reason: 'token_issued_in_future' | 'token_lifetime_too_long'; description: string };

/** Returns why the token's iat/exp are out of bounds, or null when they are acceptable. */
export function lifetimeProblem(payload: JWTPayload, bounds: LifetimeBounds, nowSeconds: number): LifetimeProblem | null {
  const { iat, exp } = payload;
  if (typeof iat === 'number' && iat > nowSeconds + bounds.clockToleranceSeconds) {
    return { reason: 'token_issued_in_future', description: 'the token was issued in the future ("iat" is ahead of dab\'s clock)' };
  }
  // jose has checked exp is a number and not past; iat absent means the lifetime is measured from now.
  const from = typeof iat === 'number' ? iat : nowSeconds;
  if (typeof exp === 'number' && exp - from > bounds.maxTokenLifetimeSeconds + bounds.clockToleranceSeconds) {
    return {
      reason: 'token_lifetime_too_long',
      description: `the token lives longer than this issuer's limit of ${bounds.maxTokenLifetimeSeconds} s ("exp" - "iat")`,
    };
  }
  return null;
}

// Finer reasons than the problem code for dab_auth_failures_total, without widening AppError.
const reasons = new WeakMap<AppError, string>();

export function withFailureReason(err: AppError, reason: string): AppError {
  reasons.set(err, reason);
  return err;
}

/** The metrics reason of a failed authentication: the tagged one, else the problem code. */
export function failureReason(err: AppError): string {
  return reasons.get(err) ?? err.code;
}
