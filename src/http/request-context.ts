import type { FastifyRequest } from 'fastify';

/** What the audit log records about where a request came from. */
export interface RequestContext {
  requestId: string;
  sourceIp: string;
  userAgent: string | null;
}

export function requestContext(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return {
    requestId: request.id,
    sourceIp: request.ip,
    // Bounded: the audit row is not a place for someone's 1 MiB header.
    userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null,
  };
}
