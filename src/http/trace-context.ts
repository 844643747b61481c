import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Where a request came from in its caller's own records: the W3C Trace Context (`traceparent`) of
 * the caller's span and the caller's `x-request-id`. dab records both in the access line and the
 * audit row, so a grant joins the caller's trace; it emits no spans of its own (no tracer here).
 * dab's own request id stays its own (a UUIDv7, unique, the `x-request-id` of every response): a
 * caller's id is not unique by any guarantee dab could check, and the audit log indexes its own.
 */
export interface TraceFields {
  /** 32 lowercase hex, never all zero. */
  traceId: string | null;
  /** The caller's span (traceparent's parent-id): 16 lowercase hex, never all zero. */
  parentSpanId: string | null;
  /** The caller's x-request-id, when it was short and plain enough to record. */
  clientRequestId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Null when the request carried neither a valid traceparent nor a valid x-request-id. */
    trace: TraceFields | null;
  }
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
// version 00 is exactly this long: 2 + 1 + 32 + 1 + 16 + 1 + 2.
const V00_LENGTH = 55;

/**
 * A traceparent per W3C Trace Context level 1 (§3.2), or null. Lowercase hex only; trace-id and
 * parent-id must not be all zero; version ff is invalid. Version 00 must be exactly 55 characters;
 * a later version is read by its 00 prefix when what follows is '-' (the spec's forward
 * compatibility rule). Anything else — and a repeated header, which Node joins with ", " — is
 * ignored, never refused: tracing is the caller's concern, not a reason to fail its grant.
 */
export function parseTraceparent(value: unknown): { traceId: string; parentSpanId: string } | null {
  if (typeof value !== 'string' || value.length < V00_LENGTH || value.length > 512) return null;
  const version = value.slice(0, 2);
  if (!HEX2.test(version) || version === 'ff') return null;
  if (version === '00' ? value.length !== V00_LENGTH : value.length > V00_LENGTH && value[V00_LENGTH] !== '-') return null;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return null;
  const traceId = value.slice(3, 35);
  const parentSpanId = value.slice(36, 52);
  if (!HEX32.test(traceId) || traceId === ZERO32) return null;
  if (!HEX16.test(parentSpanId) || parentSpanId === ZERO16) return null;
  if (!HEX2.test(value.slice(53, 55))) return null;
  return { traceId, parentSpanId };
}

/** Longest x-request-id recorded (the audit filter's bound). */
export const MAX_CLIENT_REQUEST_ID = 128;
// Enough for UUIDs, ULIDs, Envoy/nginx/ALB ids ("Root=1-5f…"), base64: nothing that can break a log
// line, a CSV cell or a terminal (no spaces, quotes, commas, control or non-ASCII characters).
const CLIENT_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@+=/;-]*$/;

/** The caller's x-request-id when it is 1–128 characters of a plain charset; otherwise null (not recorded). */
export function parseClientRequestId(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLIENT_REQUEST_ID) return null;
  return CLIENT_REQUEST_ID.test(value) ? value : null;
}

export function traceFieldsOf(headers: FastifyRequest['headers']): TraceFields | null {
  const parent = parseTraceparent(headers.traceparent);
  const clientRequestId = parseClientRequestId(headers['x-request-id']);
  if (!parent && !clientRequestId) return null;
  return { traceId: parent?.traceId ?? null, parentSpanId: parent?.parentSpanId ?? null, clientRequestId };
}

/**
 * Reads the headers once per request (onRequest, before authentication and rate limits, so every
 * row a request writes can carry them: services take them from its RequestContext). Requests
 * without either header cost two checks.
 */
export function registerTraceContext(app: FastifyInstance): void {
  app.decorateRequest('trace', null);
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers.traceparent !== undefined || request.headers['x-request-id'] !== undefined) request.trace = traceFieldsOf(request.headers);
    done();
  });
}
