import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from './problem.js';

// Optimistic concurrency for DBAs: every database and mapping has a version, sent as a strong
// ETag ("3"); a change must say which version it was based on, so two DBAs editing the same
// mapping cannot silently overwrite each other.

/** The If-Match header as route schemas document it (absent is refused with 428 in code, not by Ajv). */
export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The ETag you read, e.g. "3"' })),
});

export function setVersionTag(reply: FastifyReply, version: number): void {
  reply.header('etag', `"${version}"`);
}

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (etagc: 0x21, 0x23-0x7E, obs-text).
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;
const ENTITY_TAG_LIST = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"(?:[ \t]*,[ \t]*(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")+$/;
// Exactly as setVersionTag writes it: "01" is another entity-tag, and never matches "1".
const VERSION = /^[1-9]\d{0,8}$/;

function refuse(detail: string, message: string): AppError {
  return new AppError('validation_failed', detail, { errors: [{ field: 'headers.if-match', message }] });
}

/**
 * The version a change is based on. If-Match uses the strong comparison (RFC 9110 §13.1.1), so
 * a weak tag (W/"3") or a tag dab never wrote never matches: 412, like a stale version. 428
 * without If-Match. Refused with 400, clearly: "*" (it would skip the lost-update check this header
 * is required for) and lists (a change is based on one version you read), and what is no entity-tag.
 */
export function ifMatchVersion(request: FastifyRequest): number {
  const header = request.headers['if-match'];
  if (header === undefined) throw new AppError('precondition_required', 'send If-Match with the ETag of the version you read (GET it first)');
  const value = typeof header === 'string' ? header.trim() : '';
  if (value === '*') throw refuse('If-Match: * is not accepted: send the ETag of the version you read, e.g. "3"', 'must be the ETag you read, not *');
  if (ENTITY_TAG_LIST.test(value)) throw refuse('If-Match must be one ETag, the one you read, not a list', 'must be one ETag, not a list');
  const tag = ENTITY_TAG.exec(value);
  if (!tag) throw refuse('If-Match must be one ETag as returned by dab, e.g. "3"', 'must be a quoted version number');
  if (tag[1]) throw new AppError('precondition_failed', 'a weak ETag never matches: If-Match uses the strong comparison; send the ETag exactly as dab returned it, e.g. "3"');
  if (!VERSION.test(tag[2] as string)) throw new AppError('precondition_failed', 'If-Match names no version dab returned: read the resource again and send its ETag');
  return Number(tag[2]);
}

/** 412 when the stored version moved on since the client read it. */
export function checkVersion(kind: string, name: string, current: number, expected: number | undefined): void {
  if (expected !== undefined && expected !== current) {
    throw new AppError('precondition_failed', `${kind} ${name} is at version ${current}, not ${expected}: read it again and reapply your change`);
  }
}
