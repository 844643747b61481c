import type { FastifyRequest } from 'fastify';
import { AppError } from '../http/problem.js';
import type { Caller } from './caller.js';
import { unauthenticated } from './jwt-verifier.js';

/**
 * One kind of caller credential (a JWT from a trusted issuer, an AWS IAM proof, …). Each kind
 * recognises its own bearer format and turns a valid one into a Caller; a tier lists the kinds it
 * accepts. A new kind (mTLS, another cloud) is one module implementing this plus configuration.
 */
export interface Authenticator {
  /** Stable name: configuration and metrics use it ("jwt", "aws"). */
  readonly kind: string;
  /** True when the bearer credential has this kind's shape (cheap, no verification). */
  accepts(bearer: string): boolean;
  /** Verifies the credential; throws AppError 401 (bad credential) or 502/503 (verifier dependency down). */
  authenticate(bearer: string, request: FastifyRequest): Promise<Caller>;
}

// RFC 6750 b64token, which covers a JWT (three base64url parts) and prefixed formats like dab-aws-v1.<b64url>.
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** The one bearer credential of a request; more than one Authorization header is refused, not guessed at. */
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
    throw new AppError('unauthenticated', 'a bearer token is required: send "Authorization: Bearer <token>"', { wwwAuthenticate: 'Bearer realm="dab"' });
  }
  if (header.length > MAX_TOKEN_LENGTH) throw unauthenticated('the bearer token is too long');
  const match = BEARER.exec(header);
  if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Picks the authenticator that recognises the request's credential and runs it. */
export function authenticateRequest(authenticators: readonly Authenticator[], request: FastifyRequest): Promise<Caller> {
  const bearer = bearerToken(request);
  const authenticator = authenticators.find((a) => a.accepts(bearer));
  if (!authenticator) {
    const kinds = authenticators.map((a) => KIND_NAMES[a.kind] ?? a.kind).join(' or ');
    throw unauthenticated(`the bearer token is not ${kinds}, which is what this endpoint accepts`);
  }
  return authenticator.authenticate(bearer, request);
}

const KIND_NAMES: Record<string, string> = { jwt: 'a JWT', aws: 'an AWS IAM proof (dab-aws-v1.…)' };
