// SigV4 query presigning of a database IAM auth token (rds-db, elasticache, …: the engine says what
// is signed, src/engines/), on node:crypto alone. For rds-db it produces exactly the bytes
// @aws-sdk/rds-signer (@smithy/signature-v4 presign + formatUrl) produces for the same inputs and
// second (test/aws/sigv4-presign-signer.test.ts holds the library to that), but
// without what made the library cost ~200 µs a token: a new SignatureV4 per call, promise-wrapped
// hashing, an HMAC of the secret on every call to find its key cache, and the ~700-character
// session token escaped twice per call.
import { createHash, createHmac } from 'node:crypto';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
// The library's presign of a body-less request hashes the empty payload (not UNSIGNED-PAYLOAD).
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface PresignCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/**
 * What an engine's token signs: a body-less GET of `/` on `signedHost`, presigned in its query.
 * Engines differ only here: rds-db signs "endpoint:port" with Action=connect&DBUser=…, elasticache
 * signs the cache name with Action=connect&User=…[&ResourceType=ServerlessCache].
 */
export interface PresignTarget {
  service: string;
  /** The host header the signature covers. */
  signedHost: string;
  /** What the token starts with, before "/?" (default: signedHost; the scheme is always stripped). */
  urlHost?: string;
  /** The engine's own query parameters (not X-Amz-*), in any order. */
  params: Readonly<Record<string, string>>;
  expiresSeconds: number;
}

export interface PresignRequest {
  target: PresignTarget;
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

export interface Presigner {
  /** The token for a request signed at atMs (only its whole second counts). */
  presign(request: PresignRequest, atMs: number): string;
}

/**
 * A presigner with cached signing keys and a cached escaped form of each session token (a
 * session's token is escaped once, not on every grant). Both caches are bounded.
 */
export function createPresigner(opts: { maxCachedKeys: number }): Presigner {
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
  return { presign: (request, atMs) => presign(request, atMs, signingKeys.get, escapeToken) };
}

const byKey = ([a]: readonly [string, string], [b]: readonly [string, string]) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One token. The query is built once in its sorted order (escaped keys, byte order), which is both
 * the canonical query the signature covers and, with the signature sorted in, the order
 * @smithy's formatUrl writes: so nothing is sorted or escaped twice.
 */
export function presign(
  { target, region, credentials }: PresignRequest,
  atMs: number,
  signingKey: SigningKeyCache['get'] = deriveSigningKey,
  escapeToken: (token: string) => string = escapeUri,
): string {
  const longDate = amzDate(atMs);
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${target.service}/${SCOPE_TERMINATOR}`;
  const pairs: Array<[string, string]> = Object.entries(target.params).map(([k, v]) => [escapeUri(k), escapeUri(v)]);
  pairs.push(
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', escapeUri(`${credentials.accessKeyId}/${scope}`)],
    ['X-Amz-Date', longDate],
    ['X-Amz-Expires', String(target.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  );
  // The library leaves an empty session token out, as it does a missing one.
  if (credentials.sessionToken) pairs.push(['X-Amz-Security-Token', escapeToken(credentials.sessionToken)]);
  pairs.sort(byKey);
  const query = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalRequest = `GET\n/\n${query}\nhost:${canonicalHeaderValue(target.signedHost)}\n\nhost\n${EMPTY_SHA256}`;
  const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, shortDate, region, target.service)).update(stringToSign, 'utf8').digest('hex');
  pairs.push(['X-Amz-Signature', signature]);
  pairs.sort(byKey);
  return `${target.urlHost ?? target.signedHost}/?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
}
