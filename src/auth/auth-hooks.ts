import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TierLimits } from '../abuse/rate-limits.js';
import type { Config } from '../config/config-schema.js';
import { AppError } from '../http/problem.js';
import { matchesPrincipal, type Caller } from './caller.js';
import { unauthenticated, type JwtVerifier } from './jwt-verifier.js';
import { failureReason } from './token-lifetime.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export type Tier = 'caller' | 'admin' | 'auditor';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The one bearer token of a request; more than one Authorization header is refused, not guessed at. */
export function bearerToken(request: FastifyRequest): string {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'authorization') count++;
  const header = request.headers.authorization;
  if (count > 1 || Array.isArray(header)) {
    throw new AppError('invalid_request', 'send exactly one Authorization header', {
      wwwAuthenticate: 'Bearer realm="dab", error="invalid_request"',
    });
  }
  // RFC 6750 §3.1: no bearer credentials at all (none, or another scheme) gets a challenge without an error code.
  if (!header || !/^bearer /i.test(header)) {
    throw new AppError('unauthenticated', 'a bearer token is required: send "Authorization: Bearer <JWT>"', { wwwAuthenticate: 'Bearer realm="dab"' });
  }
  if (header.length > MAX_TOKEN_LENGTH) throw unauthenticated('the bearer token is too long');
  const match = BEARER.exec(header);
  if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <JWT>"');
  return match[1];
}

/**
 * Adds an onRequest hook to this (encapsulated) context that authenticates every request and
 * checks its tier. Authentication runs before the body is read, so anonymous callers cost little.
 */
export function requireTier(app: FastifyInstance, tier: Tier, verifier: JwtVerifier, auth: Config['auth'], onFailure: (reason: string) => void, limits?: TierLimits): void {
  limits?.document(app);
  app.addHook('onRequest', async (request) => {
    let caller: Caller;
    try {
      caller = await verifier.verify(bearerToken(request));
    } catch (err) {
      onFailure(err instanceof AppError ? failureReason(err) : 'internal');
      // Only the caller's own failures count against the address, not an IdP outage (5xx).
      if (!(err instanceof AppError) || err.status < 500) limits?.failed(request);
      throw err;
    }
    // Per identity, after verification: callers sharing an address (NAT) have their own budgets.
    limits?.admit(request, caller);
    request.caller = caller;
    if (tier === 'admin' && !auth.admins.some((rule) => matchesPrincipal(caller, rule))) {
      throw new AppError('forbidden', 'this endpoint is for DBAs (admins)');
    }
    if (tier === 'auditor' && !auth.auditors.some((rule) => matchesPrincipal(caller, rule))) {
      throw new AppError('forbidden', 'this endpoint is for auditors');
    }
  });
}

/** The authenticated caller of a request that passed requireTier. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new AppError('internal');
  return request.caller;
}
