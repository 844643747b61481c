import type { Authenticator } from './authenticator.js';
import type { JwtVerifier } from './jwt-verifier.js';

// Three base64url segments (the last may be empty): what jose would even try to parse.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** OIDC/JWT callers: every configured issuer, through the JwtVerifier. */
export function createJwtAuthenticator(verifier: JwtVerifier): Authenticator {
  return {
    kind: 'jwt',
    accepts: (bearer) => JWT_SHAPE.test(bearer),
    authenticate: (bearer) => verifier.verify(bearer),
  };
}
