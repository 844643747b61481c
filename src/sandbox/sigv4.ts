// AWS Signature Version 4 verification built only on node:crypto, so the local
// sandbox (STS emulator, fake RDS, fake ElastiCache) checks signatures exactly like AWS does
// instead of trusting whatever the broker sends. Presigned tokens: sigv4-presigned.ts.
import { createHmac } from 'node:crypto';
import {
  ALGORITHM, EMPTY_SHA256, SCOPE_TERMINATOR, canonicalHeaderValue, canonicalQuery, deriveSigningKey, fail, parseAmzDate, parseCredentialScope, parseQuery, safeEqual, sha256Hex, stringToSign,
  uriEncode, type CredentialLookup, type Fail,
} from './sigv4-canonical.js';

export { deriveSigningKey, type CredentialLookup } from './sigv4-canonical.js';
export {
  parseElastiCacheToken, parseRdsAuthToken, verifyElastiCacheToken, verifyRdsAuthToken, type ParsedElastiCacheToken, type ParsedRdsAuthToken,
} from './sigv4-presigned.js';

/**
 * Canonical URI for non-S3 services: the path as sent on the wire, dot-segments
 * removed, and each segment URI-encoded again (the SDK signs it double-encoded).
 */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(uriEncode(seg));
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailing}`;
}

export function verifySignedRequest(
  req: { method: string; path: string; query: string; headers: Record<string, string | string[] | undefined>; body: Buffer | string },
  lookup: CredentialLookup,
  opts: { service: string; now: Date; maxSkewSeconds?: number },
): { ok: true; accessKeyId: string; region: string } | Fail {
  const headers = new Map<string, string | string[]>();
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name.toLowerCase(), value);
  const single = (name: string): string | undefined => {
    const v = headers.get(name);
    return Array.isArray(v) ? v[0] : v;
  };

  const authorization = single('authorization');
  if (!authorization) return fail('missing_authorization');
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(authorization.trim());
  if (!m) return fail('unsupported_algorithm');
  const fields = new Map<string, string>();
  for (const part of (m[1] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const scope = parseCredentialScope(fields.get('Credential') ?? '');
  const signedHeadersField = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!scope || !signedHeadersField || !signature || !/^[0-9a-f]{64}$/.test(signature)) return fail('malformed_authorization');
  if (scope.service !== opts.service) return fail('wrong_service');

  const amzDate = single('x-amz-date');
  const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (!amzDate || !signedAt) return fail('missing_date');
  if (amzDate.slice(0, 8) !== scope.date) return fail('credential_date_mismatch');
  const maxSkewMs = (opts.maxSkewSeconds ?? 300) * 1000;
  if (Math.abs(opts.now.getTime() - signedAt.getTime()) > maxSkewMs) return fail('clock_skew');

  // AWS requires host to be signed; every listed header must actually be present.
  const signedHeaders = signedHeadersField.split(';');
  if (!signedHeaders.includes('host')) return fail('host_not_signed');
  if (signedHeaders.some((h) => h !== h.toLowerCase() || !headers.has(h))) return fail('missing_signed_header');

  const creds = lookup(scope.accessKeyId);
  if (!creds) return fail('unknown_access_key');
  const presentedToken = single('x-amz-security-token');
  if (creds.sessionToken !== undefined ? !safeEqual(presentedToken ?? '', creds.sessionToken) : presentedToken !== undefined) {
    return fail('session_token_mismatch');
  }

  // A declared content hash must match the body, or the body could be swapped under a valid signature.
  const bodyHash = sha256Hex(req.body);
  const declaredHash = single('x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== bodyHash) return fail('payload_hash_mismatch');

  const query = parseQuery(req.query);
  if (!query) return fail('malformed_query');
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.path),
    canonicalQuery(query),
    ...[...signedHeaders].sort().map((h) => `${h}:${canonicalHeaderValue(headers.get(h) ?? '')}`),
    '',
    [...signedHeaders].sort().join(';'),
    declaredHash ?? bodyHash,
  ].join('\n');
  const scopeString = [scope.date, scope.region, scope.service, SCOPE_TERMINATOR].join('/');
  const key = deriveSigningKey(creds.secretAccessKey, scope.date, scope.region, scope.service);
  const expected = createHmac('sha256', key).update(stringToSign(amzDate, scopeString, canonicalRequest)).digest('hex');
  if (!safeEqual(expected, signature)) return fail('signature_mismatch');
  return { ok: true, accessKeyId: scope.accessKeyId, region: scope.region };
}

/**
 * A SigV4 query-signed (presigned) request as AWS checks one: the X-Amz-* parameters, expiry, the
 * session token, every signed header present, and the signature over all of them. STS's GET
 * GetCallerIdentity, as dab rebuilds it from an AWS caller's proof, is checked with this.
 */
export function verifyPresignedRequest(
  req: { method: string; path: string; query: string; headers: Record<string, string | string[] | undefined> },
  lookup: CredentialLookup,
  opts: { service: string; now: Date; maxSkewSeconds?: number },
): { ok: true; accessKeyId: string; region: string; signedHeaders: string[]; params: Map<string, string> } | Fail {
  const pairs = parseQuery(req.query);
  if (!pairs) return fail('malformed_query');
  const params = new Map<string, string>();
  for (const [k, v] of pairs) {
    if (params.has(k)) return fail('duplicate_parameter');
    params.set(k, v);
  }
  if (params.get('X-Amz-Algorithm') !== ALGORITHM) return fail('unsupported_algorithm');
  const scope = parseCredentialScope(params.get('X-Amz-Credential') ?? '');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  const expires = Number(params.get('X-Amz-Expires') ?? 'x');
  const signature = params.get('X-Amz-Signature') ?? '';
  if (!scope || !signedAt || !Number.isInteger(expires) || expires < 1 || expires > 604800 || !/^[0-9a-f]{64}$/.test(signature)) return fail('malformed_authorization');
  if (scope.service !== opts.service) return fail('wrong_service');
  if (amzDate.slice(0, 8) !== scope.date) return fail('credential_date_mismatch');
  const now = opts.now.getTime();
  if (signedAt.getTime() > now + (opts.maxSkewSeconds ?? 300) * 1000) return fail('clock_skew');
  if (now > signedAt.getTime() + expires * 1000) return fail('expired');

  const headers = new Map<string, string | string[]>();
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name.toLowerCase(), value);
  const signedHeaders = (params.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signedHeaders.includes('host')) return fail('host_not_signed');
  if (signedHeaders.some((h) => h !== h.toLowerCase() || !headers.has(h))) return fail('missing_signed_header');

  const creds = lookup(scope.accessKeyId);
  if (!creds) return fail('unknown_access_key');
  const presented = params.get('X-Amz-Security-Token');
  const tokenOk = creds.sessionToken !== undefined ? presented !== undefined && safeEqual(presented, creds.sessionToken) : presented === undefined;
  if (!tokenOk) return fail('session_token_mismatch');

  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.path),
    canonicalQuery(pairs.filter(([k]) => k !== 'X-Amz-Signature')),
    ...[...signedHeaders].sort().map((h) => `${h}:${canonicalHeaderValue(headers.get(h) ?? '')}`),
    '',
    [...signedHeaders].sort().join(';'),
    EMPTY_SHA256, // a presigned GET has no body; non-S3 services hash the empty payload
  ].join('\n');
  const scopeString = [scope.date, scope.region, scope.service, SCOPE_TERMINATOR].join('/');
  const key = deriveSigningKey(creds.secretAccessKey, scope.date, scope.region, scope.service);
  const expected = createHmac('sha256', key).update(stringToSign(amzDate, scopeString, canonicalRequest)).digest('hex');
  if (!safeEqual(expected, signature)) return fail('signature_mismatch');
  return { ok: true, accessKeyId: scope.accessKeyId, region: scope.region, signedHeaders, params };
}
