// Presigned IAM auth tokens as RDS (rds-db) and ElastiCache (elasticache) check them: the
// token is a SigV4 query-presigned GET of "/" whose host header is all that is signed.
import { createHmac } from 'node:crypto';
import {
  ALGORITHM, CLOCK_SKEW_SECONDS, EMPTY_SHA256, SCOPE_TERMINATOR, canonicalHeaderValue, canonicalQuery, deriveSigningKey, fail, parseAmzDate, parseCredentialScope, parseQuery,
  safeEqual, stringToSign, type CredentialLookup, type Fail,
} from './sigv4-canonical.js';

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
