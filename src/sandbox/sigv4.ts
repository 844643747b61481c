// AWS Signature Version 4 verification built only on node:crypto, so the local
// sandbox (STS emulator, fake RDS) checks signatures exactly like AWS does
// instead of trusting whatever the broker sends.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parseAmzDate } from '../aws/amz-date.js';

export interface CredentialLookup {
  (accessKeyId: string): { secretAccessKey: string; sessionToken?: string } | undefined;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
// Verified against @aws-sdk/rds-signer: its presign() has no body and no
// x-amz-content-sha256 header, so the payload hash is sha256("") — not UNSIGNED-PAYLOAD.
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const RDS_CLOCK_SKEW_SECONDS = 60;

type Fail = { ok: false; reason: string };
const fail = (reason: string): Fail => ({ ok: false, reason });

const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  let key = hmac(`AWS4${secretAccessKey}`, date);
  for (const part of [region, service, SCOPE_TERMINATOR]) key = hmac(key, part);
  return key;
}

/** RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ stay literal. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Decodes a raw query string into [key, value] pairs; undefined if the percent-encoding is invalid. */
function parseQuery(query: string): [string, string][] | undefined {
  const raw = query.startsWith('?') ? query.slice(1) : query;
  if (raw === '') return [];
  const pairs: [string, string][] = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    try {
      pairs.push(eq < 0 ? [decodeURIComponent(part), ''] : [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))]);
    } catch {
      return undefined;
    }
  }
  return pairs;
}

/** Canonical query: every pair re-encoded, sorted by key then value (byte order, as AWS does). */
function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

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

const canonicalHeaderValue = (value: string | string[]): string =>
  (Array.isArray(value) ? value.join(',') : value).replace(/\s+/g, ' ').trim();

function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
}

/** Constant-time comparison of two hex/ASCII strings; length leaks nothing secret here. */
function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

interface Scope { accessKeyId: string; date: string; region: string; service: string }

function parseCredentialScope(credential: string): Scope | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== SCOPE_TERMINATOR) return undefined;
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service) return undefined;
  return { accessKeyId, date, region, service };
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

export interface ParsedRdsAuthToken {
  host: string;
  port: number;
  user: string;
  action: string;
  algorithm: string;
  accessKeyId: string;
  date: string; // yyyymmdd from the credential scope
  region: string;
  service: string;
  amzDate: string; // yyyymmddThhmmssZ
  signedAt: Date;
  expiresSeconds: number;
  signedHeaders: string;
  securityToken?: string;
  signature: string;
}

/** Parses without verifying; shared by verifyRdsAuthToken, which also needs the raw query pairs. */
function parseToken(token: string): { parsed: ParsedRdsAuthToken; pairs: [string, string][]; hostHeader: string } | undefined {
  const m = /^([^/?#\s]+):(\d{1,5})\/\?(.*)$/s.exec(token);
  if (!m) return undefined;
  const [, host = '', portText = '', rawQuery = ''] = m;
  const port = Number(portText);
  const pairs = parseQuery(rawQuery);
  if (!pairs || port < 1 || port > 65535) return undefined;
  const params = new Map<string, string>();
  for (const [k, v] of pairs) {
    if (params.has(k)) return undefined; // duplicate parameters are ambiguous; RDS would reject them
    params.set(k, v);
  }
  const get = (k: string): string => params.get(k) ?? '';
  const scope = parseCredentialScope(get('X-Amz-Credential'));
  const amzDate = get('X-Amz-Date');
  const signedAt = parseAmzDate(amzDate);
  const expiresText = get('X-Amz-Expires');
  const signature = get('X-Amz-Signature');
  if (!scope || !signedAt || !/^\d{1,7}$/.test(expiresText) || !/^[0-9a-f]{64}$/.test(signature)) return undefined;
  if (!params.has('DBUser') || amzDate.slice(0, 8) !== scope.date) return undefined;
  const securityToken = params.get('X-Amz-Security-Token');
  const parsed: ParsedRdsAuthToken = {
    host,
    port,
    user: get('DBUser'),
    action: get('Action'),
    algorithm: get('X-Amz-Algorithm'),
    ...scope,
    amzDate,
    signedAt,
    expiresSeconds: Number(expiresText),
    signedHeaders: get('X-Amz-SignedHeaders'),
    ...(securityToken !== undefined ? { securityToken } : {}),
    signature,
  };
  return { parsed, pairs, hostHeader: `${host}:${portText}` };
}

export function parseRdsAuthToken(token: string): ParsedRdsAuthToken | undefined {
  return parseToken(token)?.parsed;
}

export function verifyRdsAuthToken(
  token: string,
  expected: { host: string; port: number; user: string; region?: string },
  lookup: CredentialLookup,
  opts: { now: Date; maxExpiresSeconds?: number },
): { ok: true; accessKeyId: string; region: string; signedAt: Date; expiresAt: Date } | Fail {
  const t = parseToken(token);
  if (!t) return fail('malformed');
  const { parsed, pairs, hostHeader } = t;
  // RDS tokens sign exactly the host header; anything else cannot be checked from a bare token.
  if (parsed.action !== 'connect' || parsed.algorithm !== ALGORITHM || parsed.signedHeaders !== 'host') return fail('malformed');
  if (parsed.service !== 'rds-db') return fail('wrong_service');
  if (parsed.host.toLowerCase() !== expected.host.toLowerCase() || parsed.port !== expected.port) return fail('wrong_host');
  if (parsed.user !== expected.user) return fail('wrong_user');
  if (expected.region !== undefined && parsed.region !== expected.region) return fail('wrong_region');
  if (parsed.expiresSeconds <= 0) return fail('malformed');
  if (parsed.expiresSeconds > (opts.maxExpiresSeconds ?? 900)) return fail('expires_too_long');

  const now = opts.now.getTime();
  const expiresAt = new Date(parsed.signedAt.getTime() + parsed.expiresSeconds * 1000);
  if (parsed.signedAt.getTime() > now + RDS_CLOCK_SKEW_SECONDS * 1000) return fail('not_yet_valid');
  if (now >= expiresAt.getTime()) return fail('expired');

  const creds = lookup(parsed.accessKeyId);
  if (!creds) return fail('unknown_access_key');
  // Session credentials are useless without their token; long-term keys must not carry one.
  const tokenOk = creds.sessionToken !== undefined
    ? parsed.securityToken !== undefined && safeEqual(parsed.securityToken, creds.sessionToken)
    : parsed.securityToken === undefined;
  if (!tokenOk) return fail('session_token_mismatch');

  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery(pairs.filter(([k]) => k !== 'X-Amz-Signature')),
    `host:${canonicalHeaderValue(hostHeader)}`,
    '',
    'host',
    EMPTY_SHA256,
  ].join('\n');
  const scopeString = [parsed.date, parsed.region, parsed.service, SCOPE_TERMINATOR].join('/');
  const key = deriveSigningKey(creds.secretAccessKey, parsed.date, parsed.region, parsed.service);
  const expectedSig = createHmac('sha256', key).update(stringToSign(parsed.amzDate, scopeString, canonicalRequest)).digest('hex');
  if (!safeEqual(expectedSig, parsed.signature)) return fail('signature_mismatch');
  return { ok: true, accessKeyId: parsed.accessKeyId, region: parsed.region, signedAt: parsed.signedAt, expiresAt };
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
