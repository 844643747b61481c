// The store pool's gauges, read at scrape time from a real pg pool on the machine's PostgreSQL
// (no tables: a session held open and a query queued behind it), and NaN on the embedded store.
import t from 'tap';
import { createMetrics, registerPoolGauges } from '../../src/http/metrics.js';
import { createEmbeddedStore } from '../../src/store/embedded-store.js';
import { createPostgresStore } from '../../src/store/postgres-store.js';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function scrape(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const text = await metrics.registry.metrics();
  return Object.fromEntries([...text.matchAll(/^(dab_store_pool_\w+) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

t.test('total, idle, waiting and max follow the pool', async (t) => {
  const store = createPostgresStore({ url: URL, poolMax: 2, connectionTimeoutMs: 5000, statementTimeoutMs: 10_000, onPoolError: () => undefined });
  t.teardown(() => store.close());
  const metrics = createMetrics();
  registerPoolGauges(metrics, store);
  t.same(await scrape(metrics), { dab_store_pool_connections: 0, dab_store_pool_idle_connections: 0, dab_store_pool_waiting_queries: 0, dab_store_pool_max_connections: 2 }, 'nothing opened yet');

  // Two sessions hold both connections; a third query waits for one.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let opened = 0;
  const sessions = [0, 1].map(() => store.withSession(async (s) => { await s.query('SELECT 1'); opened += 1; await held; }));
  while (opened < 2) await new Promise((r) => setTimeout(r, 10));
  const queued = store.query('SELECT 1');
  t.same(await scrape(metrics), { dab_store_pool_connections: 2, dab_store_pool_idle_connections: 0, dab_store_pool_waiting_queries: 1, dab_store_pool_max_connections: 2 }, 'both busy, one waiting');

  release();
  await Promise.all([...sessions, queued]);
  t.same(await scrape(metrics), { dab_store_pool_connections: 2, dab_store_pool_idle_connections: 2, dab_store_pool_waiting_queries: 0, dab_store_pool_max_connections: 2 }, 'all idle again');
});

t.test('the embedded store has no pool: NaN, not a made-up number', async (t) => {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  const metrics = createMetrics();
  registerPoolGauges(metrics, store);
  const values = await scrape(metrics);
  t.equal(Object.keys(values).length, 4);
  for (const [name, v] of Object.entries(values)) t.ok(Number.isNaN(v), `${name} is NaN`);
});
