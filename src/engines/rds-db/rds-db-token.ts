import { createPresigner, deriveSigningKey, escapeUri, presign, type PresignCredentials, type Presigner, type PresignTarget, type SigningKeyCache } from '../../aws/sigv4-presign.js';

// The rds-db token RDS and Aurora take for PostgreSQL, MySQL and MariaDB alike (BRIEF §2):
// "host:port/?Action=connect&DBUser=…&X-Amz-…", 900 s, signed for the real endpoint and port.

export const RDS_DB_SERVICE = 'rds-db';
export const RDS_TOKEN_EXPIRES_SECONDS = 900;

/** What an rds-db token signs. The port is left out of the token when falsy, as formatUrl does. */
export function rdsDbTarget(host: string, port: number, user: string): PresignTarget {
  return {
    service: RDS_DB_SERVICE,
    signedHost: `${host}:${port}`,
    urlHost: port ? `${host}:${port}` : host,
    params: { Action: 'connect', DBUser: user },
    expiresSeconds: RDS_TOKEN_EXPIRES_SECONDS,
  };
}

/** The request @aws-sdk/rds-signer's Signer takes: what the oracle tests compare against. */
export interface RdsPresignRequest {
  host: string;
  port: number;
  user: string;
  region: string;
  credentials: PresignCredentials;
}

const toRequest = ({ host, port, user, region, credentials }: RdsPresignRequest) => ({ target: rdsDbTarget(host, port, user), region, credentials });

/** One rds-db token, as @aws-sdk/rds-signer would sign it at atMs. */
export function presignRdsToken(
  request: RdsPresignRequest,
  atMs: number,
  signingKey: SigningKeyCache['get'] = deriveSigningKey,
  escapeToken: (token: string) => string = escapeUri,
): string {
  return presign(toRequest(request), atMs, signingKey, escapeToken);
}

/** A cached presigner (see createPresigner) taking rds-signer's request shape. */
export function createRdsPresigner(opts: { maxCachedKeys: number }): { presign(request: RdsPresignRequest, atMs: number): string } {
  const presigner: Presigner = createPresigner(opts);
  return { presign: (request, atMs) => presigner.presign(toRequest(request), atMs) };
}
