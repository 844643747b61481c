// SIGTERM's drain (app.close): a grant in flight when closing starts is answered in full, with
// `connection: close`, so its keep-alive connection does not hold close() for keepAliveTimeoutMs
// (72 s by default, past close-with-grace's 10 s: the process would be killed mid-shutdown, its
// store and heartbeat never closed). test/e2e/replica-failover.test.ts checks it with real processes.
import { request, Agent } from 'node:http';
import t from 'tap';
import type { Store } from '../../src/store/store.js';
import { startHarness } from '../support/harness.js';

t.test('a grant in flight at close is answered with connection: close, and close() does not wait out keep-alive', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  const hold = (inner: Store): Store => ({
    ...inner,
    async query(sql, params, options) {
      if (sql.startsWith('INSERT INTO audit_events')) {
        held += 1;
        await released;
      }
      return inner.query(sql, params, options);
    },
  });
  const h = await startHarness(t, { wrapStore: hold });
  await h.registerOrders();
  await h.map('app-drain', 'orders', ['ro']);
  const bearer = await h.token('app-drain');
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = h.app.server.address() as { port: number };
  held = 0;

  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const body = JSON.stringify({ database: 'orders', access: 'ro' });
  const answer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/credentials', agent, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end(body);
  });
  while (held === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  const started = Date.now();
  const closing = h.app.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  release();
  const res = await answer;
  t.equal(res.status, 200, 'the grant in flight completes');
  t.equal(res.connection, 'close', 'and its connection is closed after it');
  await closing;
  t.ok(Date.now() - started < 5000, `close() finished in ${Date.now() - started} ms, not after keepAliveTimeoutMs (${h.config.listen.keepAliveTimeoutMs} ms)`);
});
