import { createServer, type Server, type ServerOptions } from 'node:http';
import type { FastifyServerFactory } from 'fastify';
import type { Config } from '../config/config-schema.js';
import type { Metrics } from './metrics.js';

/**
 * Time and connection bounds of the HTTP server, spread into Fastify({...}).
 *
 * Fastify's defaults turn Node's request timeout off (requestTimeout 0) and never time out an idle
 * socket, so a client trickling its headers or body one byte at a time held a connection (and a
 * file descriptor) for as long as it liked: 5,000 of them stayed open for 120 s (issue 10, defect 4).
 * `bodyLimit` bounds size, not time. Here:
 * - headersTimeoutMs: the whole header block must arrive within this, from the first byte;
 * - requestTimeoutMs: the whole request (headers + body) likewise; a 401 sent before the body was
 *   read does not end the request, so an anonymous trickler is cut by this too;
 * - idleTimeoutMs: a socket with no traffic either way (a client that stops reading) is destroyed;
 * - keepAliveTimeoutMs: an idle keep-alive connection between requests is closed;
 * - maxConnections: past this, new connections are dropped at accept, so fds stay bounded even
 *   while the slow ones wait for their timeouts;
 * - maxRequestsPerSocket: 0 = unlimited.
 * Node checks header/request deadlines on a timer (default every 30 s, which would stretch a 10 s
 * bound to 40 s); the check runs every quarter of the shortest deadline, at most every second.
 */
export function serverLimits(listen: Config['listen'], metrics?: Metrics): { serverFactory: FastifyServerFactory<Server> } {
  const options: ServerOptions = {
    headersTimeout: listen.headersTimeoutMs,
    requestTimeout: listen.requestTimeoutMs,
    keepAliveTimeout: listen.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(listen),
  };
  return {
    // A factory rather than Fastify's own timeout options: only here can maxConnections and the
    // deadline-checking interval be set, and all the bounds stay in one place.
    serverFactory: (handler) => {
      const server = createServer(options, handler);
      server.setTimeout(listen.idleTimeoutMs);
      server.maxConnections = listen.maxConnections;
      if (listen.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = listen.maxRequestsPerSocket;
      if (metrics) {
        // Observers only: Fastify's own clientError handler answers 408/400 and destroys the socket.
        server.on('clientError', (err: NodeJS.ErrnoException) => metrics.connectionsCut.inc({ reason: cutReason(err.code) }));
        server.on('drop', () => metrics.connectionsCut.inc({ reason: 'max_connections' }));
      }
      return server;
    },
  };
}

export function checkingIntervalMs(listen: Pick<Config['listen'], 'headersTimeoutMs' | 'requestTimeoutMs'>): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(listen.headersTimeoutMs, listen.requestTimeoutMs) / 4)));
}

function cutReason(code: string | undefined): string {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (code === 'HPE_HEADER_OVERFLOW') return 'header_overflow';
  if (code === 'ECONNRESET') return 'reset';
  return 'bad_request';
}
