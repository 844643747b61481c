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

/** The version a change is based on: 428 without If-Match, 400 when it is not one of our ETags. */
export function ifMatchVersion(request: FastifyRequest): number {
  const header = request.headers['if-match'];
  if (header === undefined) throw new AppError('precondition_required', 'send If-Match with the ETag of the version you read (GET it first)');
  const match = typeof header === 'string' ? /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header) : null;
  if (!match) throw new AppError('validation_failed', 'If-Match must be one ETag as returned by dab, e.g. "3"', { errors: [{ field: 'headers.if-match', message: 'must be a quoted version number' }] });
  return Number(match[1]);
}

/** 412 when the stored version moved on since the client read it. */
export function checkVersion(kind: string, name: string, current: number, expected: number | undefined): void {
  if (expected !== undefined && expected !== current) {
    throw new AppError('precondition_failed', `${kind} ${name} is at version ${current}, not ${expected}: read it again and reapply your change`);
  }
}
