import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStoreUnavailable } from '../store/store.js';
import { registerShutdownAnswer } from './framework-errors.js';
import { AppError, PROBLEM_CONTENT_TYPE, problemBody, type ProblemFieldError } from './problem.js';

// Fastify's own request errors, turned into our stable codes.
const FASTIFY_CODES: Record<string, AppError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

/** Maps anything thrown in a request to one problem+json answer; 5xx bodies never carry internals. */
export function toAppError(err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const errors: ProblemFieldError[] = fe.validation.map((v) => ({
      field: fieldName(fe.validationContext ?? 'body', v.instancePath, v.params as Record<string, unknown>),
      message: v.message ?? 'is invalid',
    }));
    return new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new AppError(mapped, mapped === 'invalid_json' ? 'The body must be one JSON object' : undefined);
  // secure-json-parse's prototype-poisoning refusal and JSON.parse errors arrive as 400 SyntaxErrors.
  if (fe.statusCode === 400 && (err instanceof SyntaxError || /prototype|JSON/i.test(err.message))) {
    return new AppError('invalid_json', 'The body must be one JSON object without __proto__ or constructor keys');
  }
  if (isStoreUnavailable(err)) return new AppError('store_unavailable', 'the store did not answer; retry later', { retryAfterSeconds: 2 });
  if (fe.statusCode === 404) return new AppError('not_found');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new AppError('invalid_request');
  return new AppError('internal');
}

function fieldName(part: string, instancePath: string, params: Record<string, unknown>): string {
  const path = instancePath.replace(/^\//, '').replace(/\//g, '.');
  const leaf = (params.additionalProperty ?? params.missingProperty) as string | undefined;
  return [part, path, leaf].filter(Boolean).join('.');
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.extra.retryAfterSeconds));
  if (error.extra.wwwAuthenticate) reply.header('www-authenticate', error.extra.wwwAuthenticate);
  return reply
    .code(error.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(problemBody(error, request.id, request.url.split('?')[0]));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appError = toAppError(err);
    if (appError.status >= 500 && appError.code === 'internal') {
      request.log.error({ err }, 'unhandled error');
    } else if (appError.status >= 500) {
      request.log.warn({ code: appError.code, detail: appError.detail }, 'dependency failure');
    }
    return sendProblem(request, reply, appError);
  });
  registerShutdownAnswer(app);
  const allowed = allowedMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allow = allowed(path);
    if (allow.length === 0) return sendProblem(request, reply, new AppError('not_found', `No route for ${request.method} ${path}`));
    reply.header('allow', allow.join(', '));
    return sendProblem(request, reply, new AppError('method_not_allowed', `${path} accepts ${allow.join(', ')}, not ${request.method}`));
  });
}

/**
 * The methods routed for a path, for a 405 with Allow rather than a 404 when only the method is
 * wrong. Route patterns are collected as routes are added (onRoute), as one regular expression each.
 */
function allowedMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    routes.push({ pattern: new RegExp(`^${source}$`), methods: ([] as string[]).concat(route.method) });
  });
  return (path) => {
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
