import type net from 'node:net';

// What the sandbox's gates (PostgreSQL wire, RESP) share about their listening side.

export interface GateHandle { readonly host: string; readonly port: number; readonly certificatePem: string; readonly activeConnections: number; close(): Promise<void> }

/** The client's IP as logs show it (IPv4-mapped IPv6 addresses unwrapped). */
export function remoteIp(sock: net.Socket): string {
  const ip = sock.remoteAddress ?? 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The gate as callers hold it: close() stops listening and drops every connection, once. */
export function gateHandle(server: net.Server, info: { host: string; port: number; certificatePem: string }, active: () => number, dropAll: () => void): GateHandle {
  let closing: Promise<void> | undefined;
  return {
    ...info,
    get activeConnections() {
      return active();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropAll();
      });
      return closing;
    },
  };
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
