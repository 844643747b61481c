import type net from 'node:net';
import tls from 'node:tls';
import { selfSignedCert } from './self-signed-cert.js';

// What the sandbox's gates (PostgreSQL, MySQL, RESP) share about their listening side.

export interface GateHandle {
  readonly host: string;
  readonly port: number;
  readonly certificatePem: string;
  readonly activeConnections: number;
  close(): Promise<void>;
}

/** The gate's handle: close() stops listening and tears every connection down, once. */
export function gateHandle<C>(server: net.Server, host: string, port: number, certificatePem: string, conns: Set<C>, teardown: (conn: C) => void): GateHandle {
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    certificatePem,
    get activeConnections() {
      return conns.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const conn of [...conns]) teardown(conn);
      });
      return closing;
    },
  };
}

/** The peer's IPv4 address without the ::ffff: prefix of a dual-stack socket. */
export function remoteIp(sock: net.Socket): string {
  const ip = sock.remoteAddress ?? 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Listens (port 0: a free one) and resolves to the port; a failure to bind rejects. */
export async function listen(server: net.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as net.AddressInfo).port;
}

/** The gate's TLS identity (a self-signed certificate for its host unless given) and a logger that never throws. */
export async function gateSetup<E>(advertisedHost: string, given: { key: string; cert: string } | undefined, sink: ((event: E) => void) | undefined) {
  const creds = given ?? (await selfSignedCert(advertisedHost));
  const secureContext = tls.createSecureContext({ key: creds.key, cert: creds.cert, minVersion: 'TLSv1.2' });
  const log = (e: E): void => {
    try {
      sink?.(e);
    } catch {
      // A faulty logger must not take a connection (or the process) down.
    }
  };
  return { creds, secureContext, log };
}
