// The round-robin proxy in its own process (forked by replicas-bench.ts), so its CPU is counted
// apart and its event loop never competes with the bench's client. Controlled over IPC.
import { startRoundRobinProxy, type ProxyBackend } from './round-robin-proxy.js';

export type ProxyMessage = { kind: 'backends'; backends: ProxyBackend[] } | { kind: 'stats' };

const proxy = await startRoundRobinProxy(JSON.parse(process.env.PROXY_BACKENDS ?? '[]') as ProxyBackend[]);
process.once('disconnect', () => void proxy.close().finally(() => process.exit(0)));
process.on('message', (m: ProxyMessage) => {
  if (m.kind === 'backends') proxy.setBackends(m.backends);
  process.send?.({ kind: m.kind, port: proxy.port, stats: proxy.stats() });
});
process.send?.({ kind: 'ready', port: proxy.port, stats: proxy.stats() });
