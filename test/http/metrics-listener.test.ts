// metrics.port: /metrics on a listener of its own, and metrics.onPublicPort: false takes it off the
// public port. Real sockets through startServer, as `dab serve` runs.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import { startServer } from '../../src/server.js';

const base = (t: Test, metrics: Record<string, unknown>) => ({
  listen: { port: 0 },
  logLevel: 'silent',
  store: { embedded: true, dataDir: t.testdir() },
  auth: { issuers: [{ issuer: 'https://idp.example', audience: 'dab' }] },
  sts: { endpoint: 'http://127.0.0.1:9' },
  audit: { fingerprintKey: randomBytes(32).toString('hex'), sealIntervalSeconds: 0 },
  metrics,
});

async function serve(t: Test, metrics: Record<string, unknown>) {
  const server = await startServer(parseConfig(base(t, metrics)));
  t.teardown(() => server.close());
  return server;
}

t.test('metrics.port serves /metrics there, and only /metrics', async (t) => {
  const server = await serve(t, { port: 0 });
  t.ok(server.metricsUrl, 'the listener is up');
  const scrape = await fetch(`${server.metricsUrl}/metrics`);
  t.equal(scrape.status, 200);
  t.match(scrape.headers.get('content-type'), /^text\/plain/);
  t.match(await scrape.text(), /^dab_build_info\{/m, "it is dab's registry");
  t.equal((await fetch(`${server.metricsUrl}/v1/databases`)).status, 404, 'no API on the metrics port');
  t.equal((await fetch(`${server.metricsUrl}/metrics`, { method: 'POST' })).status, 405, 'GET only');
  t.equal((await fetch(`${server.url}/metrics`)).status, 200, 'still on the public port by default');
});

t.test('metrics.onPublicPort: false takes /metrics off the public port', async (t) => {
  const server = await serve(t, { port: 0, onPublicPort: false });
  t.equal((await fetch(`${server.url}/metrics`)).status, 404, 'not on the public port');
  t.equal((await fetch(`${server.metricsUrl}/metrics`)).status, 200, 'on the metrics port');
  t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'the probes stay on the public port');
});

t.test('config: onPublicPort false without a port is refused; no port means no listener', async (t) => {
  t.throws(() => parseConfig(base(t, { onPublicPort: false })), /metrics\.onPublicPort: false needs metrics\.port/);
  t.throws(() => parseConfig(base(t, { port: 70000 })), /metrics\.port/);
  const server = await serve(t, {});
  t.equal(server.metricsUrl, undefined, 'no metrics listener unless asked for');
});
