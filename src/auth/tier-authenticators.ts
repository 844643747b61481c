import type { Config } from '../config/config-schema.js';
import type { Metrics } from '../http/metrics.js';
import type { Store } from '../store/store.js';
import type { Tier } from './auth-hooks.js';
import type { Authenticator } from './authenticator.js';
import { createAwsAuthenticator } from './aws-authenticator.js';
import { createStsFailureAudit } from './aws-failure-audit.js';
import { createJwtAuthenticator } from './jwt-authenticator.js';
import { createJwtVerifier } from './jwt-verifier.js';

export interface TierAuthenticatorDeps {
  config: Config;
  store: Store;
  /** Event MAC key for the audit rows authentication writes (STS failures). */
  macKey: Buffer;
  metrics: Metrics;
  now: () => Date;
  log: { warn(obj: object, msg: string): void };
  fetch?: typeof fetch;
}

/**
 * Every caller authenticator configuration enables, and which tier accepts which: JWTs on every
 * tier, AWS IAM proofs on auth.aws.tiers. A new kind of credential is its module plus a line here.
 */
export function createTierAuthenticators(deps: TierAuthenticatorDeps): (tier: Tier) => Authenticator[] {
  const { config } = deps;
  const jwt = createJwtAuthenticator(
    createJwtVerifier(config.auth, deps.fetch, { onCacheLookup: (hit) => deps.metrics.verifiedTokenCache.inc({ result: hit ? 'hit' : 'miss' }) }),
  );
  const awsConfig = config.auth.aws;
  const aws = awsConfig && createAwsAuthenticator({
    config: awsConfig,
    defaultRegion: config.sts.region,
    clockToleranceSeconds: config.auth.clockToleranceSeconds,
    now: deps.now,
    onStsCall: (result) => deps.metrics.callerIdentity.inc({ result }),
    onStsFailure: createStsFailureAudit({ store: deps.store, macKey: deps.macKey, now: deps.now, log: deps.log, windowSeconds: config.rateLimit.summaryWindowSeconds }),
  });
  return (tier) => (aws && awsConfig.tiers.includes(tier) ? [jwt, aws] : [jwt]);
}
