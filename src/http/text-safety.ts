import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../auth/caller.js';
import { AppError } from './problem.js';

// The one place where control characters are refused, for every input path: body, query string,
// path parameters, headers and the verified token's claims. PostgreSQL text (and jsonb) cannot
// hold U+0000 at all, and the other controls have no business in a name or a filter: in the audit
// log they would hide or fake text on an auditor's terminal or in a CSV export.
//
// The rule:
// - identifiers (every string but the free-text fields below, object keys included, and every
//   token claim): no C0 control (U+0000–U+001F), no DEL (U+007F), no C1 control (U+0080–U+009F);
// - free text (`reason`, `description`, `publicKeyPem`, and the `token` an auditor pastes into a
//   lookup, which the lookup trims): the same, except TAB, LF and CR;
// - header values: no C0 control but TAB, no DEL (RFC 9110 §5.5). C1 is allowed there, because
//   Node reads header bytes as Latin-1 and a UTF-8 user agent ("…" is E2 80 A6) shows up as C1;
// - everywhere: no lone UTF-16 surrogate (a JSON "\ud800" is not text any database can store).

/** Keys whose string values people write or paste: line breaks are allowed there. */
const FREE_TEXT_KEYS = new Set(['reason', 'description', 'publicKeyPem', 'token']);

const IDENTIFIER_UNSAFE = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;
const FREE_TEXT_UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\p{Cs}/u;
const HEADER_UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f]|\p{Cs}/u;
const ANY_UNSAFE = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/gu;

export type TextKind = 'identifier' | 'freeText' | 'header';
const PATTERNS: Record<TextKind, RegExp> = { identifier: IDENTIFIER_UNSAFE, freeText: FREE_TEXT_UNSAFE, header: HEADER_UNSAFE };

/** One refused character: where it was (e.g. body.reason, token.sub) and which it was (U+0000). */
export interface UnsafeText {
  field: string;
  character: string;
}

/** The first character the rule refuses in one string, as U+XXXX, or undefined. */
export function unsafeCharacter(value: string, kind: TextKind): string | undefined {
  const found = PATTERNS[kind].exec(value);
  return found ? codePoint(found[0]) : undefined;
}

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Walks a parsed JSON value (or query/params object); keys are identifiers, values by their key. */
export function findUnsafeText(value: unknown, path: string, kind: TextKind = 'identifier', depth = 0): UnsafeText | undefined {
  if (typeof value === 'string') {
    const character = unsafeCharacter(value, kind);
    return character ? { field: path, character } : undefined;
  }
  // Deeper than any schema of ours: validation refuses the shape anyway, so stop walking.
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeText(value[i], `${path}.${i}`, kind, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const character = unsafeCharacter(key, 'identifier');
    if (character) return { field: `${path}.${escapeUnsafe(key, 64)}`, character };
    const found = findUnsafeText(child, `${path}.${key}`, FREE_TEXT_KEYS.has(key) ? 'freeText' : 'identifier', depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The verified token's claims as dab stores or matches them: the subject and groups land in audit
 * rows, and any top-level string claim (or string in an array claim) may be matched by a mapping.
 */
export function findUnsafeClaim(caller: Caller): UnsafeText | undefined {
  for (const [name, value] of Object.entries(caller.claims ?? {})) {
    const strings = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
    for (let i = 0; i < strings.length; i++) {
      const s: unknown = strings[i];
      const character = typeof s === 'string' ? unsafeCharacter(s, 'identifier') : undefined;
      if (character) return { field: `token.${escapeUnsafe(name, 64)}${typeof value === 'string' ? '' : `.${i}`}`, character };
    }
  }
  // Callers built without claims (none today) are still checked on what is stored.
  const subject = unsafeCharacter(caller.subject, 'identifier');
  if (subject) return { field: 'token.sub', character: subject };
  const group = caller.groups.findIndex((g) => unsafeCharacter(g, 'identifier'));
  if (group >= 0) return { field: `token.groups.${group}`, character: unsafeCharacter(caller.groups[group] as string, 'identifier') as string };
  return undefined;
}

/** The first refused character anywhere in the request, in a fixed order: token, headers, path, query string, body. */
export function findUnsafeInput(request: FastifyRequest): UnsafeText | undefined {
  if (request.caller) {
    const claim = findUnsafeClaim(request.caller);
    if (claim) return claim;
  }
  for (const [name, value] of Object.entries(request.headers)) {
    const found = findUnsafeText(value, `headers.${escapeUnsafe(name, 64)}`, 'header');
    if (found) return { ...found, field: found.field.replace(/\.\d+$/, '') };
  }
  return findUnsafeText(request.params, 'params') ?? findUnsafeText(request.query, 'querystring') ?? findUnsafeText(request.body, 'body');
}

/**
 * A value made safe to record: each refused character as \uXXXX and each backslash doubled, so the
 * record is unambiguous (a literal "\u0000" typed by the caller reads "\\u0000"); then bounded.
 */
export function escapeUnsafe(value: string, maxLength = 512): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(ANY_UNSAFE, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength - 1)}…` : escaped;
}

/** The 400 for refused text, naming the field. */
export function unsafeTextError(found: UnsafeText): AppError {
  const message = `must not contain control characters (found ${found.character})`;
  return new AppError('validation_failed', `${found.field} ${message}`, { errors: [{ field: found.field, message }] });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Called before the 400 for refused text, e.g. to audit it: the grant path records every refusal. */
    onUnsafeText?: (request: FastifyRequest, found: UnsafeText) => Promise<void>;
  }
}

/**
 * One preValidation hook for the whole app: it runs after authentication (so the caller's claims
 * are known) and body parsing, and before schema validation, so no route, schema or store sees a
 * refused character, and no route can forget to check.
 */
export function registerTextSafety(app: FastifyInstance): void {
  app.addHook('preValidation', (request, _reply, done) => {
    const found = findUnsafeInput(request);
    if (!found) return done();
    request.log.info({ field: found.field, character: found.character }, 'refused control character');
    const audit = request.routeOptions.config.onUnsafeText;
    if (!audit) return done(unsafeTextError(found));
    audit(request, found).then(() => done(unsafeTextError(found)), done);
  });
}
