// SigV4 query presigning of an RDS IAM auth token, on node:crypto alone. It produces exactly the
// bytes @aws-sdk/rds-signer (@smithy/signature-v4 presign + formatUrl) produces for the same
// inputs and second (test/aws/sigv4-presign-signer.test.ts holds the library to that), but
// without what made the library cost ~200 µs a token: a new SignatureV4 per call, promise-wrapped
// hashing, an HMAC of the secret on every call to find its key cache, and the ~700-character
// session token escaped twice per call.
import { createHash, createHmac } from 'node:crypto';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
// The library's presign of a body-less request hashes the empty payload (not UNSIGNED-PAYLOAD).
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const RDS_SERVICE = 'rds-db';
export const RDS_TOKEN_EXPIRES_SECONDS = 900;

export interface PresignCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface RdsPresignRequest {
  host: string;
  port: number;
  user: string;
  region: string;
  credentials: PresignCredentials;
}

/** The escaping @smithy uses (escapeUri): RFC 3986, only A-Z a-z 0-9 - _ . ~ stay literal. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** yyyymmddThhmmssZ of a moment, as the library formats it (whole seconds, UTC). */
export function amzDate(atMs: number): string {
  return new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The HMAC chain secret → date → region → service → "aws4_request". */
export function deriveSigningKey(secretAccessKey: string, shortDate: string, region: string, service: string): Buffer {
  let key = createHmac('sha256', `AWS4${secretAccessKey}`).update(shortDate, 'utf8').digest();
  for (const part of [region, service, SCOPE_TERMINATOR]) key = createHmac('sha256', key).update(part, 'utf8').digest();
  return key;
}

/** The library's canonical header value: CR/LF to spaces, runs of blanks to one, one blank trimmed each end. */
const canonicalHeaderValue = (value: string): string => value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');

export interface SigningKeyCache {
  get(secretAccessKey: string, shortDate: string, region: string, service: string): Buffer;
  readonly size: number;
}

/**
 * Signing keys by (secret, day, region, service), least recently used evicted beyond maxEntries.
 * The secret itself is part of the key, so one caller's key can never sign another's token; a key
 * is a function of exactly those four inputs, so a hit is always the key a fresh derivation gives.
 */
export function createSigningKeyCache(maxEntries: number): SigningKeyCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  const keys = new Map<string, Buffer>();
  return {
    get(secretAccessKey, shortDate, region, service) {
      // Length-prefixed fields, secret last: no two different inputs can spell the same cache key.
      const id = `${shortDate}|${region.length}:${region}|${service.length}:${service}|${secretAccessKey}`;
      const hit = keys.get(id);
      if (hit) {
        keys.delete(id);
        keys.set(id, hit);
        return hit;
      }
      const key = deriveSigningKey(secretAccessKey, shortDate, region, service);
      keys.set(id, key);
      if (keys.size > maxEntries) keys.delete(keys.keys().next().value as string);
      return key;
    },
    get size() {
      return keys.size;
    },
  };
}

export interface RdsPresigner {
  /** The token for a request signed at atMs (only its whole second counts). */
  presign(request: RdsPresignRequest, atMs: number): string;
}

/**
 * A presigner with cached signing keys and a cached escaped form of each session token (a
 * session's token is escaped once, not on every grant). Both caches are bounded.
 */
export function createRdsPresigner(opts: { maxCachedKeys: number }): RdsPresigner {
  const signingKeys = createSigningKeyCache(opts.maxCachedKeys);
  // Keyed by the token string itself, so a hit is the escaping of exactly this token.
  const escapedTokens = new Map<string, string>();
  const escapeToken = (token: string): string => {
    let escaped = escapedTokens.get(token);
    if (escaped === undefined) {
      escaped = escapeUri(token);
      escapedTokens.set(token, escaped);
      if (escapedTokens.size > opts.maxCachedKeys) escapedTokens.delete(escapedTokens.keys().next().value as string);
    }
    return escaped;
  };
  return { presign: (request, atMs) => presignRdsToken(request, atMs, signingKeys.get, escapeToken) };
}

/**
 * One token. The query is built once in its sorted order, which is both the canonical query the
 * signature covers and (plus the signature, which sorts between the token and SignedHeaders)
 * the order formatUrl writes, so no sorting or re-escaping happens per call.
 */
export function presignRdsToken(
  { host, port, user, region, credentials }: RdsPresignRequest,
  atMs: number,
  signingKey: SigningKeyCache['get'] = deriveSigningKey,
  escapeToken: (token: string) => string = escapeUri,
): string {
  const longDate = amzDate(atMs);
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${RDS_SERVICE}/${SCOPE_TERMINATOR}`;
  const head =
    `Action=connect&DBUser=${escapeUri(user)}&X-Amz-Algorithm=${ALGORITHM}` +
    `&X-Amz-Credential=${escapeUri(`${credentials.accessKeyId}/${scope}`)}&X-Amz-Date=${longDate}&X-Amz-Expires=${RDS_TOKEN_EXPIRES_SECONDS}` +
    // The library leaves an empty session token out, as it does a missing one.
    (credentials.sessionToken ? `&X-Amz-Security-Token=${escapeToken(credentials.sessionToken)}` : '');
  const canonicalRequest = `GET\n/\n${head}&X-Amz-SignedHeaders=host\nhost:${canonicalHeaderValue(`${host}:${port}`)}\n\nhost\n${EMPTY_SHA256}`;
  const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, shortDate, region, RDS_SERVICE)).update(stringToSign, 'utf8').digest('hex');
  // formatUrl: "host[:port]/?query", the port left out when falsy, as the library does.
  return `${host}${port ? `:${port}` : ''}/?${head}&X-Amz-Signature=${signature}&X-Amz-SignedHeaders=host`;
}
