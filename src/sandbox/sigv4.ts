// AWS Signature Version 4 verification built only on node:crypto, so the local
// sandbox (STS emulator, fake RDS, fake ElastiCache) checks signatures exactly like AWS does
// instead of trusting whatever the broker sends.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface CredentialLookup {
  (accessKeyId: string): { secretAccessKey: string; sessionToken?: string } | undefined;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SCOPE_TERMINATOR = 'aws4_request';
// Verified against @aws-sdk/rds-signer: its presign() has no body and no
// x-amz-content-sha256 header, so the payload hash is sha256("") — not UNSIGNED-PAYLOAD.
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
// RDS and ElastiCache both tolerate a token signed slightly in the future (client clock ahead).
const CLOCK_SKEW_SECONDS = 60;

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

/** Parses yyyymmddThhmmssZ strictly (round-trip checked so 20250231 is rejected). */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '') === value ? date : undefined;
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

/** An ElastiCache IAM token names the cache (no port) and carries User, and ResourceType for serverless. */
export type ParsedElastiCacheToken = Omit<ParsedRdsAuthToken, 'port'> & { resourceType?: string };

/**
 * What tells the two presigned forms apart: RDS signs "host:port" and names the user DBUser;
 * ElastiCache signs the bare cache name and names the user User.
 */
interface TokenForm { userParam: 'DBUser' | 'User'; withPort: boolean }
const RDS_FORM: TokenForm = { userParam: 'DBUser', withPort: true };
const ELASTICACHE_FORM: TokenForm = { userParam: 'User', withPort: false };

interface ParsedToken { parsed: ParsedElastiCacheToken & { port?: number }; pairs: [string, string][]; hostHeader: string }

/** Parses without verifying; shared by the verifiers, which also need the raw query pairs. */
function parseToken(token: string, form: TokenForm): ParsedToken | undefined {
  const m = (form.withPort ? /^([^/?#\s]+):(\d{1,5})\/\?(.*)$/s : /^([^/?#:\s]+)\/\?(.*)$/s).exec(token);
  if (!m) return undefined;
  const host = m[1] ?? '';
  const portText = form.withPort ? (m[2] ?? '') : undefined;
  const rawQuery = (form.withPort ? m[3] : m[2]) ?? '';
  const port = portText === undefined ? undefined : Number(portText);
  const pairs = parseQuery(rawQuery);
  if (!pairs || (port !== undefined && (port < 1 || port > 65535))) return undefined;
  const params = new Map<string, string>();
  for (const [k, v] of pairs) {
    if (params.has(k)) return undefined; // duplicate parameters are ambiguous; AWS would reject them
    params.set(k, v);
  }
  const get = (k: string): string => params.get(k) ?? '';
  const scope = parseCredentialScope(get('X-Amz-Credential'));
  const amzDate = get('X-Amz-Date');
  const signedAt = parseAmzDate(amzDate);
  const expiresText = get('X-Amz-Expires');
  const signature = get('X-Amz-Signature');
  if (!scope || !signedAt || !/^\d{1,7}$/.test(expiresText) || !/^[0-9a-f]{64}$/.test(signature)) return undefined;
  if (!params.has(form.userParam) || amzDate.slice(0, 8) !== scope.date) return undefined;
  const securityToken = params.get('X-Amz-Security-Token');
  const resourceType = form === ELASTICACHE_FORM ? params.get('ResourceType') : undefined;
  const parsed: ParsedToken['parsed'] = {
    host,
    ...(port !== undefined ? { port } : {}),
    user: get(form.userParam),
    action: get('Action'),
    algorithm: get('X-Amz-Algorithm'),
    ...scope,
    amzDate,
    signedAt,
    expiresSeconds: Number(expiresText),
    signedHeaders: get('X-Amz-SignedHeaders'),
    ...(securityToken !== undefined ? { securityToken } : {}),
    ...(resourceType !== undefined ? { resourceType } : {}),
    signature,
  };
  return { parsed, pairs, hostHeader: portText === undefined ? host : `${host}:${portText}` };
}

export function parseRdsAuthToken(token: string): ParsedRdsAuthToken | undefined {
  return parseToken(token, RDS_FORM)?.parsed as ParsedRdsAuthToken | undefined;
}

export function parseElastiCacheToken(token: string): ParsedElastiCacheToken | undefined {
  return parseToken(token, ELASTICACHE_FORM)?.parsed;
}

type TokenVerified = { ok: true; accessKeyId: string; region: string; signedAt: Date; expiresAt: Date };

export function verifyRdsAuthToken(
  token: string,
  expected: { host: string; port: number; user: string; region?: string },
  lookup: CredentialLookup,
  opts: { now: Date; maxExpiresSeconds?: number },
): TokenVerified | Fail {
  const t = parseToken(token, RDS_FORM);
  if (!t) return fail('malformed');
  return verifyPresignedToken(t, 'rds-db', ({ host, port, user }) => {
    if (host.toLowerCase() !== expected.host.toLowerCase() || port !== expected.port) return fail('wrong_host');
    if (user !== expected.user) return fail('wrong_user');
    return undefined;
  }, expected.region, lookup, opts);
}

/**
 * What ElastiCache checks on AUTH: a token signed for service elasticache, for this cache name
 * (lower case, it is the signed host) and this user, with ResourceType=ServerlessCache exactly
 * when the cache is serverless.
 */
export function verifyElastiCacheToken(
  token: string,
  expected: { cacheName: string; user: string; serverless: boolean; region?: string },
  lookup: CredentialLookup,
  opts: { now: Date; maxExpiresSeconds?: number },
): TokenVerified | Fail {
  const t = parseToken(token, ELASTICACHE_FORM);
  if (!t) return fail('malformed');
  return verifyPresignedToken(t, 'elasticache', ({ host, user, resourceType }) => {
    if (host !== expected.cacheName) return fail('wrong_cache');
    if (user !== expected.user) return fail('wrong_user');
    if (resourceType !== (expected.serverless ? 'ServerlessCache' : undefined)) return fail('wrong_resource_type');
    return undefined;
  }, expected.region, lookup, opts);
}

/** The checks both forms share, in the order the reasons are reported: shape, service, identity, time, signature. */
function verifyPresignedToken(
  { parsed, pairs, hostHeader }: ParsedToken,
  service: string,
  checkIdentity: (parsed: ParsedToken['parsed']) => Fail | undefined,
  region: string | undefined,
  lookup: CredentialLookup,
  opts: { now: Date; maxExpiresSeconds?: number },
): TokenVerified | Fail {
  // These tokens sign exactly the host header; anything else cannot be checked from a bare token.
  if (parsed.action !== 'connect' || parsed.algorithm !== ALGORITHM || parsed.signedHeaders !== 'host') return fail('malformed');
  if (parsed.service !== service) return fail('wrong_service');
  const identity = checkIdentity(parsed);
  if (identity) return identity;
  if (region !== undefined && parsed.region !== region) return fail('wrong_region');
  if (parsed.expiresSeconds <= 0) return fail('malformed');
  if (parsed.expiresSeconds > (opts.maxExpiresSeconds ?? 900)) return fail('expires_too_long');

  const now = opts.now.getTime();
  const expiresAt = new Date(parsed.signedAt.getTime() + parsed.expiresSeconds * 1000);
  if (parsed.signedAt.getTime() > now + CLOCK_SKEW_SECONDS * 1000) return fail('not_yet_valid');
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
