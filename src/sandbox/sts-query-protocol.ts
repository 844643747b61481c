// What every answer of the STS emulator shares: the Query protocol's XML namespace, escaping, its
// ErrorResponse document, and the validation errors (and wording) AWS uses for bad parameters.
import { randomBytes, randomUUID } from 'node:crypto';

export const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const NAME_CHARS = /^[\w+=,.@-]+$/;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export class StsError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly type: 'Sender' | 'Receiver' = 'Sender') {
    super(message);
  }
}

export const randomId = (prefix: string, length: number): string =>
  prefix + Array.from(randomBytes(length), (b) => ALNUM[b % ALNUM.length]).join('');
export const randomSecret = (): string => randomBytes(30).toString('base64'); // 40 chars, like AWS secrets
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
export const xml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** STS's error document for this code and message (the message escaped). */
export function errorDocument(code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error>`
    + `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

export const validationError = (message: string): StsError => new StsError(400, 'ValidationError', `1 validation error detected: ${message}`);

export const notNull = (field: string): StsError => validationError(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);

/** Validates RoleSessionName / SourceIdentity (same AWS constraints); absent optional values pass through. */
export function checkName(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 2 || value.length > 64) throw validationError(`Value '${value}' at '${field}' failed to satisfy constraint: Member must have length between 2 and 64`);
  if (!NAME_CHARS.test(value)) throw validationError(`Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  return value;
}

export function parseTags(params: URLSearchParams): Record<string, string> | undefined {
  const tags: Record<string, string> = {};
  for (let n = 1; params.has(`Tags.member.${n}.Key`); n++) {
    const key = params.get(`Tags.member.${n}.Key`) ?? '';
    const value = params.get(`Tags.member.${n}.Value`) ?? '';
    if (key.length < 1 || key.length > 128 || value.length > 256) throw validationError(`Value at 'tags.${n}.member' failed to satisfy constraint: Member must have valid length`);
    if (n > 50) throw validationError(`Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50`);
    tags[key] = value;
  }
  return Object.keys(tags).length > 0 ? tags : undefined;
}
