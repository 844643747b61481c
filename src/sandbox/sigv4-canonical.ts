// The pieces of AWS Signature Version 4 every verifier in the sandbox shares (signed requests in
// sigv4.ts, presigned tokens in sigv4-presigned.ts), on node:crypto alone.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface CredentialLookup {
  (accessKeyId: string): { secretAccessKey: string; sessionToken?: string } | undefined;
}

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const SCOPE_TERMINATOR = 'aws4_request';
// Verified against @aws-sdk/rds-signer: its presign() has no body and no
// x-amz-content-sha256 header, so the payload hash is sha256("") — not UNSIGNED-PAYLOAD.
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
// RDS and ElastiCache both tolerate a token signed slightly in the future (client clock ahead).
export const CLOCK_SKEW_SECONDS = 60;

export type Fail = { ok: false; reason: string };
export const fail = (reason: string): Fail => ({ ok: false, reason });

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  let key = hmac(`AWS4${secretAccessKey}`, date);
  for (const part of [region, service, SCOPE_TERMINATOR]) key = hmac(key, part);
  return key;
}

/** RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ stay literal. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Decodes a raw query string into [key, value] pairs; undefined if the percent-encoding is invalid. */
export function parseQuery(query: string): [string, string][] | undefined {
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
export function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export const canonicalHeaderValue = (value: string | string[]): string =>
  (Array.isArray(value) ? value.join(',') : value).replace(/\s+/g, ' ').trim();

export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
}

/** Constant-time comparison of two hex/ASCII strings; length leaks nothing secret here. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

// One strict X-Amz-Date parser for dab's proof checks and the sandbox's verifiers.
export { parseAmzDate } from '../aws/amz-date.js';

export interface Scope { accessKeyId: string; date: string; region: string; service: string }

export function parseCredentialScope(credential: string): Scope | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== SCOPE_TERMINATOR) return undefined;
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service) return undefined;
  return { accessKeyId, date, region, service };
}

