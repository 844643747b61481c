import type { FastifyRequest } from 'fastify';
import type { TraceFields } from './trace-context.js';

/** What the audit log records about where a request came from. */
export interface RequestContext {
  requestId: string;
  sourceIp: string;
  userAgent: string | null;
  /** The caller's traceparent and x-request-id (src/http/trace-context.ts), when valid. */
  trace: TraceFields | null;
}

export function requestContext(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return {
    requestId: request.id,
    sourceIp: request.ip,
    // Bounded: the audit row is not a place for someone's 1 MiB header.
    userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null,
    trace: request.trace,
  };
}
