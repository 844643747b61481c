import type { FastifyRequest } from 'fastify';
import { createCallerIdentityClient, StsIdentityError, type CallerIdentity } from '../aws/caller-identity-client.js';
import { AWS_PROOF_PREFIX, parseProof, ProofError, stsHostsFor, type ParsedProof, type ProofRules } from '../aws/caller-identity-proof.js';
import { STS_RETRY_AFTER_SECONDS } from '../aws/sts-errors.js';
import type { AwsAuthConfig } from '../config/config-schema.js';
import { AppError } from '../http/problem.js';
import type { Authenticator } from './authenticator.js';
import { awsCaller } from './aws-principal.js';
import type { Caller } from './caller.js';
import { unauthenticated } from './jwt-verifier.js';
import { failureReason, withFailureReason } from './token-lifetime.js';

export interface AwsAuthenticatorOptions {
  config: AwsAuthConfig;
  /** sts.region: the regional STS host accepted when auth.aws.regions is not set. */
  defaultRegion: string;
  clockToleranceSeconds: number;
  now: () => Date;
  /** Counts each GetCallerIdentity call by result (ok, refused, unavailable, bad_response). */
  onStsCall?: (result: string) => void;
  /** Told each STS failure (not the caller's fault) with its reason, for the audit log. */
  onStsFailure?: (reason: string, request: FastifyRequest) => void;
  /** Replaces the HTTP call (tests of the cache); default: the real one. */
  getCallerIdentity?: (proof: ParsedProof) => Promise<CallerIdentity>;
}

const MAX_RESPONSE_BYTES = 16 * 1024;

/**
 * AWS IAM callers: a presigned sts:GetCallerIdentity request (caller-identity-proof.ts) that dab
 * rebuilds and sends to STS itself. A verified proof is remembered, keyed by the whole proof, for
 * its remaining life, so a client reusing its proof costs one STS call, not one per request.
 */
export function createAwsAuthenticator(opts: AwsAuthenticatorOptions): Authenticator {
  const { config } = opts;
  const rules = proofRules(config, opts.defaultRegion, opts.clockToleranceSeconds);
  const getCallerIdentity = opts.getCallerIdentity ?? createCallerIdentityClient({ serverId: config.serverId, timeoutMs: config.requestTimeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES });
  const cache = new Map<string, { caller: Caller; until: number }>();

  function remember(bearer: string, caller: Caller, until: number): void {
    if (config.maxCachedProofs === 0) return;
    cache.delete(bearer);
    cache.set(bearer, { caller, until });
    while (cache.size > config.maxCachedProofs) cache.delete(cache.keys().next().value as string);
  }

  return {
    kind: 'aws',
    accepts: (bearer) => bearer.startsWith(AWS_PROOF_PREFIX),
    async authenticate(bearer, request) {
      const now = opts.now();
      const hit = cache.get(bearer);
      if (hit && hit.until > now.getTime()) {
        cache.delete(bearer); // most recently used goes last
        cache.set(bearer, hit);
        return hit.caller;
      }
      if (hit) cache.delete(bearer);

      let proof: ParsedProof;
      try {
        proof = parseProof(bearer, rules, now);
      } catch (err) {
        if (err instanceof ProofError) throw withFailureReason(unauthenticated(err.message), err.reason);
        throw err;
      }
      let identity: CallerIdentity;
      try {
        identity = await getCallerIdentity(proof);
        opts.onStsCall?.('ok');
      } catch (err) {
        const e = err instanceof StsIdentityError ? err : new StsIdentityError('unavailable', 'error');
        opts.onStsCall?.(e.kind);
        const problem = stsProblem(e);
        if (e.kind !== 'refused') opts.onStsFailure?.(failureReason(problem), request);
        throw problem;
      }
      const caller = awsCaller(identity.arn, identity.account, config.partition);
      if (typeof caller === 'string') throw withFailureReason(unauthenticated(caller), 'aws_principal_not_accepted');
      remember(bearer, caller, proof.usableUntil.getTime());
      return caller;
    },
  };
}

function stsProblem(e: StsIdentityError): AppError {
  if (e.kind === 'refused') {
    return withFailureReason(unauthenticated(`STS refused the AWS proof (${e.reason}): sign a fresh one with valid credentials, for this dab's server id`), `aws_sts_${e.reason}`);
  }
  if (e.kind === 'bad_response') {
    return withFailureReason(new AppError('sts_error', 'STS gave an answer dab cannot use to verify the AWS proof'), 'aws_sts_bad_response');
  }
  return withFailureReason(
    new AppError('sts_unavailable', 'STS could not verify the AWS proof in time; retry later', { retryAfterSeconds: STS_RETRY_AFTER_SECONDS }),
    e.reason.startsWith('Throttl') || e.reason === 'RequestLimitExceeded' ? 'aws_sts_throttled' : 'aws_sts_unavailable',
  );
}

/** The hosts a proof may target: exactly the configured endpoint, or the partition's STS hosts. */
export function proofRules(config: AwsAuthConfig, defaultRegion: string, clockToleranceSeconds: number): ProofRules {
  const base = { maxAgeSeconds: config.maxProofAgeSeconds, clockToleranceSeconds };
  if (config.endpoint) {
    const url = new URL(config.endpoint);
    return { ...base, allowedHosts: new Set([url.host.toLowerCase()]), allowHttp: url.protocol === 'http:' };
  }
  return { ...base, allowedHosts: stsHostsFor(config.partition, config.regions ?? [defaultRegion]), allowHttp: false };
}
