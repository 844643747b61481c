import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../auth/caller.js';
import type { Config } from '../config/config-schema.js';
import type { Metrics } from '../http/metrics.js';
import { AppError } from '../http/problem.js';
import { errorResponses } from '../http/route-helpers.js';
import type { Store } from '../store/store.js';
import { createRefusalAudit } from './refusal-audit.js';
import { createTokenBuckets, type BucketRule } from './token-buckets.js';

/**
 * What requireTier asks of the rate limits of one tier. Our own token buckets rather than
 * @fastify/rate-limit: the key that matters (issuer + subject) is only known after the JWT is
 * verified, the per-address limit must apply to failed authentications only (callers behind one NAT
 * must not starve each other), and the summary audit row is ours anyway.
 */
export interface TierLimits {
  /** After a verified token: throws 429 when this identity is over its limit. */
  admit(request: FastifyRequest, caller: Caller): void;
  /** After a failed authentication: throws 429 (instead of the 401) when this address keeps failing. */
  failed(request: FastifyRequest): void;
  /** Adds the 429 answer to the response schemas of the routes of this context. */
  document(scope: FastifyInstance): void;
}

export interface RateLimits {
  caller?: TierLimits;
  admin?: TierLimits;
  close(): Promise<void>;
}

export function createRateLimits(config: Config['rateLimit'], deps: { store: Store; macKey: Buffer; metrics: Metrics; log: FastifyBaseLogger }): RateLimits {
  const audit = createRefusalAudit({
    store: deps.store,
    macKey: deps.macKey,
    metrics: deps.metrics,
    log: deps.log,
    windowSeconds: config.summaryWindowSeconds,
    maxOpenWindows: config.maxTrackedKeys,
  });
  if (!config.enabled) return { close: () => audit.close() };
  const buckets = createTokenBuckets({ maxKeys: config.maxTrackedKeys });

  function refuse(request: FastifyRequest, tier: string, kind: 'identity' | 'source_ip', key: string, caller: Caller | null, retryAfterSeconds: number): never {
    deps.metrics.rateLimited.inc({ tier, key: kind });
    const agent = request.headers['user-agent'];
    audit.refused({ key, tier, actor: caller, sourceIp: request.ip, userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null, requestId: request.id, trace: request.trace });
    throw new AppError('rate_limited', `too many requests${kind === 'source_ip' ? ' failing authentication from this address' : ''}; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  function forTier(tier: 'caller' | 'admin', rule: BucketRule): TierLimits {
    return {
      admit(request, caller) {
        // NUL cannot occur in an issuer URL or a subject claim we accept as a string key part.
        const key = `${tier}\0${caller.issuer}\0${caller.subject}`;
        const taken = buckets.take(key, rule);
        if (!taken.ok) refuse(request, tier, 'identity', key, caller, taken.retryAfterSeconds);
      },
      failed(request) {
        // One budget per address across tiers: it is the address that is failing, not a tier.
        const key = `unauthenticated\0${request.ip}`;
        const taken = buckets.take(key, config.unauthenticated);
        if (!taken.ok) refuse(request, 'unauthenticated', 'source_ip', key, null, taken.retryAfterSeconds);
      },
      document(scope) {
        scope.addHook('onRoute', (route) => {
          if (route.schema?.response) route.schema.response = { ...(route.schema.response as object), ...errorResponses(429) };
        });
      },
    };
  }

  return { caller: forTier('caller', config.caller), admin: forTier('admin', config.admin), close: () => audit.close() };
}
