import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { AppError, PROBLEM_CONTENT_TYPE, problemBody, type ProblemCode } from './problem.js';

// Answers that Fastify and Node write themselves, before any route or error handler runs, in
// the one problem format too: bad percent-encoding, an over-long path parameter, a request Node's
// parser refuses (431 headers too large, malformed headers or request line), and 503 on shutdown.

/** Fastify's own router errors (they bypass setErrorHandler). */
function onFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem =
    error.code === 'FST_ERR_BAD_URL'
      ? new AppError('invalid_request', 'the URL is not valid: check its percent-encoding')
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new AppError('uri_too_long', 'a path segment is too long')
        : new AppError('internal');
  if (problem.code === 'internal') request.log.error({ err: error }, 'framework error');
  void reply
    .code(problem.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .header('x-request-id', request.id)
    .send(problemBody(problem, request.id));
}

// Node's parser errors (llhttp codes) worth a more precise answer than "malformed".
const CLIENT_ERRORS: Record<string, [ProblemCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'the request line and headers exceed the size limit'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request was not received in time'],
  HPE_INVALID_HEADER_TOKEN: ['invalid_request', 'a header name or value holds a character HTTP does not allow'],
  HPE_INVALID_METHOD: ['invalid_request', 'the request method is not valid'],
  HPE_INVALID_URL: ['invalid_request', 'the request target is not valid'],
  HPE_INVALID_VERSION: ['invalid_request', 'the HTTP version is not valid'],
  HPE_UNEXPECTED_CONTENT_LENGTH: ['invalid_request', 'Content-Length and Transfer-Encoding conflict'],
  HPE_INVALID_CONTENT_LENGTH: ['invalid_request', 'Content-Length is not valid'],
  HPE_INVALID_TRANSFER_ENCODING: ['invalid_request', 'Transfer-Encoding is not valid'],
  HPE_INVALID_CHUNK_SIZE: ['invalid_request', 'a chunk size is not valid'],
};

/** Node's 'clientError' event: the request never became one, so answer on the raw socket and close it. */
function onClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset socket has nobody to answer (see https://nodejs.org/api/http.html#event-clienterror).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = CLIENT_ERRORS[err.code ?? ''] ?? ['invalid_request', 'the request is not valid HTTP'];
  const requestId = randomUUID();
  const problem = new AppError(code, detail);
  this.log.info({ reqId: requestId, code: err.code, status: problem.status }, 'refused by the HTTP parser');
  // Not in the middle of another response on this connection (keep-alive): that would corrupt it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(problemBody(problem, requestId));
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
      `content-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `cache-control: no-store\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Spread into Fastify({...}). Fastify's own closing 503 is plain JSON: registerShutdownAnswer replaces it. */
export const frameworkErrorOptions = {
  frameworkErrors: onFrameworkError,
  clientErrorHandler: onClientError,
  return503OnClosing: false,
} satisfies Partial<FastifyServerOptions>;

/** While closing, new requests get a problem+json 503 (as Fastify's return503OnClosing did, in its own format). */
export function registerShutdownAnswer(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new AppError('not_ready', 'dab is shutting down: retry on another instance', { retryAfterSeconds: 1 }));
  });
  // A request in flight when closing began is answered in full, then its keep-alive connection is
  // closed: left open it would hold server.close() for listen.keepAliveTimeoutMs (72 s), past the
  // drain's 10 s, and SIGTERM would end in a kill instead of a clean close (store, heartbeat).
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}
