import type { FastifyInstance, FastifyRequest } from 'fastify';
import { toAppError } from './error-handler.js';
import type { TraceFields } from './trace-context.js';

/** What a route adds to its request's access line (the grant route: database, access level, outcome, grant id). */
export interface AccessLogNote {
  database?: string;
  /** The access level asked for. Not "level": that is pino's own field (the log level) in every line. */
  access?: string;
  /** The grant's audited outcome: issued | denied | failed. Absent when no audit row was written. */
  outcome?: string;
  /** The audit event id of that row. */
  grantId?: string;
  /** Set on errors: the problem code, and for 401s the reason the token was refused. */
  code?: string;
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    accessLog: AccessLogNote | null;
  }
}

// Probes are polled every few seconds by load balancers and Prometheus: at info they would drown the
// lines that matter. They stay visible at debug.
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** The caller's trace context as the access line shows it: only what was set. */
function traceNote(t: TraceFields): Record<string, string> {
  const out: Record<string, string> = {};
  if (t.traceId) out.traceId = t.traceId;
  if (t.parentSpanId) out.parentSpanId = t.parentSpanId;
  if (t.clientRequestId) out.clientRequestId = t.clientRequestId;
  return out;
}

/** The grant route's note; the returned callback records what the service audited (see grant-service). */
export function noteGrantRequest(request: FastifyRequest, database: string, access: string): (grantId: string, outcome: string) => void {
  const note: AccessLogNote = { ...request.accessLog, database, access };
  request.accessLog = note;
  return (grantId, outcome) => {
    note.grantId = grantId;
    note.outcome = outcome;
  };
}

/**
 * One line per request, written when the response is done, in place of Fastify's two
 * (`disableRequestLogging`). It carries who asked for what and how it ended — never a secret: no
 * headers, no body, no query string (the path only), and the caller as issuer + subject.
 * Callback-style hooks: no promise per request on the hot path.
 */
export function registerAccessLog(app: FastifyInstance): void {
  app.decorateRequest('accessLog', null);
  app.addHook('onError', (request, _reply, error, done) => {
    const problem = toAppError(error);
    const note: AccessLogNote = request.accessLog ?? (request.accessLog = {});
    note.code = problem.code;
    // README: 401s are logged (with why), not audited.
    if (problem.status === 401 && problem.detail) note.reason = problem.detail;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    const log = route !== undefined && PROBES.has(route) ? 'debug' : 'info';
    // Fastify's logger is pino; its type just does not say so. Skip building a line nobody keeps.
    if (!(request.log as unknown as { isLevelEnabled(level: string): boolean }).isLevelEnabled(log)) return done();
    const note = request.accessLog;
    const caller = request.caller;
    const q = request.url.indexOf('?');
    request.log[log](
      {
        method: request.method,
        path: q < 0 ? request.url : request.url.slice(0, q),
        route: route ?? null,
        ip: request.ip,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        ...(caller ? { caller: { issuer: caller.issuer, subject: caller.subject } } : {}),
        // Validated values only (src/http/trace-context.ts): a raw header never reaches the line.
        ...(request.trace ? traceNote(request.trace) : {}),
        ...note,
      },
      'request',
    );
    done();
  });
}
