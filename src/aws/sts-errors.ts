import { AppError } from '../http/problem.js';

const SETUP_PROBLEMS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'RegionDisabledException',
  'ValidationError',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'IncompleteCredentials',
]);
const TRANSIENT = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TimeoutError', 'AbortError', 'RequestTimeout']);
const NETWORK = /^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|PIPE|TIMEDOUT|AI_AGAIN)|^ENOTFOUND$/;

/** Seconds a caller should wait after STS was unavailable. */
export const STS_RETRY_AFTER_SECONDS = 5;

/**
 * Turns an STS failure into the answer for the caller and the reason for the audit row.
 * Names the role, never the ExternalId; nothing from the SDK's message reaches the caller.
 */
export function classifyStsError(err: unknown, roleArn: string): { error: AppError; reason: string } {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return {
      reason: 'sts_access_denied',
      error: new AppError('sts_access_denied', `STS refused AssumeRole on ${roleArn}: check that role's trust policy names dab's role, requires the registered ExternalId and allows sts:SetSourceIdentity`),
    };
  }
  if (TRANSIENT.has(name) || (status !== undefined && status >= 500) || NETWORK.test(e.code ?? '')) {
    return {
      reason: name === 'Throttling' || name === 'ThrottlingException' ? 'sts_throttled' : 'sts_unavailable',
      error: new AppError('sts_unavailable', 'STS did not answer in time; retry later', { retryAfterSeconds: STS_RETRY_AFTER_SECONDS }),
    };
  }
  if (SETUP_PROBLEMS.has(name)) {
    return { reason: `sts_${name}`, error: new AppError('sts_error', `STS rejected AssumeRole on ${roleArn} (${name}): a configuration problem`) };
  }
  return { reason: 'sts_bad_response', error: new AppError('sts_error', `STS gave an answer dab cannot use for ${roleArn}`) };
}
