import { connect, createServer, type Socket } from 'node:net';

export interface ProxyBackend {
  name: string;
  port: number;
}

export interface BackendStats {
  /** Client connections piped to this backend. */
  connections: number;
  /** Connection attempts it refused (nobody listening: stopped or killed), each sent to the next one. */
  refused: number;
}

export interface RoundRobinProxy {
  readonly port: number;
  /** The backends new connections go to from now on (open connections stay where they are). */
  setBackends(backends: ProxyBackend[]): void;
  stats(): Record<string, BackendStats>;
  close(): Promise<void>;
}

// A backend that refused a connection is skipped this long before it is tried again.
const DOWN_FOR_MS = 1000;

/**
 * A loopback load balancer of the cheapest kind, like an NLB or a kube-proxy Service: each client
 * connection goes to the next backend in turn and stays there (HTTP keep-alive included). A
 * backend that refuses the connection (its listener closed on SIGTERM, or the process killed) is
 * marked down for a second and the connection goes to the next one, so no client sees it. Bytes are
 * piped, never parsed: its CPU is small next to dab's, and it hides nothing dab does.
 */
export function startRoundRobinProxy(initial: ProxyBackend[], port = 0): Promise<RoundRobinProxy> {
  let backends = initial;
  let next = 0;
  const stats: Record<string, BackendStats> = {};
  const downUntil = new Map<string, number>();
  const open = new Set<Socket>();
  const statsOf = (name: string) => (stats[name] ??= { connections: 0, refused: 0 });

  function route(client: Socket, attemptsLeft: number): void {
    if (attemptsLeft === 0 || backends.length === 0) return void client.destroy();
    const now = Date.now();
    // Prefer a backend not marked down; if all are, try the next one anyway.
    let pick = backends[next++ % backends.length]!;
    for (let i = 0; i < backends.length && (downUntil.get(pick.name) ?? 0) > now; i++) pick = backends[next++ % backends.length]!;
    const upstream = connect({ host: '127.0.0.1', port: pick.port });
    open.add(upstream);
    upstream.setNoDelay(true);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      statsOf(pick.name).connections += 1;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) {
        statsOf(pick.name).refused += 1;
        downUntil.set(pick.name, Date.now() + DOWN_FOR_MS);
        return route(client, attemptsLeft - 1);
      }
      client.destroy();
    });
    upstream.once('close', () => {
      open.delete(upstream);
      if (connected) client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  const server = createServer({ pauseOnConnect: true }, (client) => {
    client.setNoDelay(true);
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    route(client, Math.max(1, backends.length) * 2);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as { port: number }).port,
        setBackends(list) {
          backends = list;
        },
        stats: () => structuredClone(stats),
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
