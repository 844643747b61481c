import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TierLimits } from '../abuse/rate-limits.js';
import type { Config } from '../config/config-schema.js';
import { AppError } from '../http/problem.js';
import { authenticateRequest, type Authenticator } from './authenticator.js';
import { matchesPrincipal, type Caller } from './caller.js';
import { failureReason } from './token-lifetime.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export type Tier = 'caller' | 'admin' | 'auditor';

/**
 * Adds an onRequest hook to this (encapsulated) context that authenticates every request and
 * checks its tier, with the authenticators this tier accepts. Authentication runs before the body is read, so anonymous callers cost little.
 */
export function requireTier(
  app: FastifyInstance,
  tier: Tier,
  authenticators: readonly Authenticator[],
  auth: Config['auth'],
  onFailure: (reason: string) => void,
  limits?: TierLimits,
): void {
  limits?.document(app);
  app.addHook('onRequest', async (request) => {
    let caller: Caller;
    try {
      caller = await authenticateRequest(authenticators, request);
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
