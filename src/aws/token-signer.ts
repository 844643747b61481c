import { Signer } from '@aws-sdk/rds-signer';
import type { AssumedCredentials } from './sts-client.js';

export interface TokenRequest {
  host: string;
  port: number;
  user: string;
  region: string;
  credentials: AssumedCredentials;
}

/** Mints an RDS IAM auth token. Offline (no AWS call): a SigV4 presigned URL for rds-db:connect. */
export type SignToken = (request: TokenRequest) => Promise<string>;

export const signRdsToken: SignToken = ({ host, port, user, region, credentials }) =>
  new Signer({
    hostname: host,
    port,
    username: user,
    region,
    // Expiration is left out on purpose: the session cache already guarantees 15 minutes of life.
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken },
  }).getAuthToken();

const AMZ_DATE = /[?&]X-Amz-Date=(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:&|$)/;

/** The signing time a token carries (X-Amz-Date, whole seconds, UTC); undefined if it has none. */
export function tokenSignedAt(token: string): Date | undefined {
  const m = AMZ_DATE.exec(token);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

export type TokenSource = 'signed' | 'reused';

/**
 * SigV4 presigning is a pure function of (credentials, host, port, user, region, signing second):
 * rds-signer, asked twice within one second, returns the same string twice. So a token signed
 * earlier in the current second is handed out again instead of being computed again — the caller
 * gets exactly the bytes a fresh call would give, with the same expiry.
 *
 * Entries hang off the credentials object (a WeakMap), and credentials are per caller (the STS
 * session cache keys them by caller), so a token is never shared across callers, and an entry goes
 * away with its session. It matters when many replicas of one app fetch at once (a rollout, a pool
 * warming up): signing is the most expensive step of a grant.
 */
export function reuseWithinSigningSecond(sign: SignToken, onToken: (source: TokenSource) => void = () => {}, nowMs: () => number = Date.now): SignToken {
  const bySession = new WeakMap<AssumedCredentials, Map<string, { second: number; token: string }>>();
  return async (request) => {
    let tokens = bySession.get(request.credentials);
    const key = `${request.user}\n${request.host}:${request.port}\n${request.region}`;
    const entry = tokens?.get(key);
    // rds-signer signs with the wall clock, so "the current second" is the wall clock's too.
    if (entry && entry.second === Math.floor(nowMs() / 1000)) {
      onToken('reused');
      return entry.token;
    }
    const token = await sign(request);
    onToken('signed');
    const signedAt = tokenSignedAt(token);
    if (signedAt) {
      if (!tokens) bySession.set(request.credentials, (tokens = new Map()));
      tokens.set(key, { second: signedAt.getTime() / 1000, token });
    }
    return token;
  };
}
