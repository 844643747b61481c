// The per-endpoint mint budget on the grant path: 429 + Retry-After past it, the refusal audited
// and counted, the utilisation gauge, endpoints shared by databases, and the replica share.
import t from 'tap';
import { parseConfig, loadConfig } from '../../src/config/load-config.js';
import { startHarness, type Harness } from '../support/harness.js';

const budget = (mintBudget: Record<string, unknown>) => (c: Record<string, any>) => {
  c.mintBudget = mintBudget;
};

async function metric(h: Harness, series: string): Promise<number | undefined> {
  const text = (await h.app.inject('/metrics')).body;
  const escaped = series.replace(/[{}.]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function mapped(h: Harness, subject: string, database = 'orders'): Promise<string> {
  await h.map(subject, database, ['ro']);
  return h.token(subject);
}

const ENDPOINT = 'orders.cluster-abc123.us-east-1.rds.amazonaws.com:5432';

t.test('past the burst, a grant gets 429 mint_budget_exceeded with Retry-After, audited and counted', async (t) => {
  const h = await startHarness(t, { config: budget({ perSecond: 1, burst: 2 }) });
  await h.registerOrders();
  const bearer = await mapped(h, 'app-1');
  const body = { database: 'orders', access: 'ro' };
  t.equal((await h.grant(bearer, body)).statusCode, 200);
  t.equal((await h.grant(bearer, body)).statusCode, 200);
  const refused = await h.grant(bearer, body);
  t.equal(refused.statusCode, 429);
  t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(refused.json().code, 'mint_budget_exceeded');
  t.equal(refused.headers['retry-after'], '1', 'one token a second: back in a second');
  t.notOk('token' in refused.json(), 'no token in a refusal');
  const rows = await h.auditRows("reason = 'mint_budget_exceeded'");
  t.equal(rows.length, 1, 'the refusal is on the record');
  t.match(rows[0], { event_type: 'credential.denied', outcome: 'denied', rule: 'mintBudget', database_name: 'orders', db_user: 'orders_ro', token_fingerprint: null });
  t.equal((await h.auditRows("event_type = 'credential.issued'")).length, 2);
  t.equal(await metric(h, `dab_mint_budget_refused_total{endpoint="${ENDPOINT}"}`), 1);
  t.equal(await metric(h, `dab_grants_total{outcome="denied",level="ro",reason="mint_budget_exceeded"}`), 1);
  // 3 attempts in the 10 s window against a share of 1/s: 0.3.
  t.equal(await metric(h, `dab_mint_budget_utilisation{endpoint="${ENDPOINT}"}`), 0.3);
  t.equal(await metric(h, 'dab_mint_budget_replicas'), 1, 'alone on its store');
});

t.test('databases on one endpoint share its budget; another endpoint has its own', async (t) => {
  const h = await startHarness(t, { config: budget({ perSecond: 0.001, burst: 1 }) });
  await h.registerOrders();
  await h.registerOrders({ name: 'orders-archive', dbname: 'archive' });
  await h.registerOrders({ name: 'orders-replica', port: 5433 });
  const bearer = await h.token('app-2');
  for (const db of ['orders', 'orders-archive', 'orders-replica']) await h.map('app-2', db, ['ro']);
  t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 200);
  const shared = await h.grant(bearer, { database: 'orders-archive', access: 'ro' });
  t.equal(shared.statusCode, 429, 'same host:port, same budget');
  t.equal(shared.headers['retry-after'], '1000', 'an empty bucket refilling at 0.001/s');
  t.equal((await h.grant(bearer, { database: 'orders-replica', access: 'ro' })).statusCode, 200, 'another port is another instance');
});

t.test('a denied caller does not spend the budget; a budget that is off never refuses', async (t) => {
  const h = await startHarness(t, { config: budget({ perSecond: 0.001, burst: 1, enabled: false }) });
  await h.registerOrders();
  const bearer = await mapped(h, 'app-3');
  for (let i = 0; i < 3; i++) t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 200);
  t.equal(await metric(h, 'dab_mint_budget_refused_total'), undefined, 'nothing refused, so no series');

  const on = await startHarness(t, { config: budget({ perSecond: 0.001, burst: 1 }) });
  await on.registerOrders();
  const stranger = await on.token('not-mapped');
  t.equal((await on.grant(stranger, { database: 'orders', access: 'ro' })).statusCode, 403);
  const allowed = await mapped(on, 'app-4');
  t.equal((await on.grant(allowed, { database: 'orders', access: 'ro' })).statusCode, 200, 'the 403 took nothing from the burst');
});

t.test('each replica takes budget / live replicas, counted from the heartbeat table', async (t) => {
  const h = await startHarness(t, { config: budget({ perSecond: 0.001, burst: 4, heartbeatSeconds: 1, replicaTtlSeconds: 2 }) });
  const own = await h.store.query<{ n: number }>('SELECT count(*)::int AS n FROM dab_replicas');
  t.equal(own.rows[0]!.n, 1, 'this replica beat on ready');
  // A live peer and one silent for a minute (killed, say): only the live one shares the budget.
  await h.store.query("INSERT INTO dab_replicas (replica_id, started_at, seen_at) VALUES ('peer-live', now(), now() + interval '1 minute'), ('peer-dead', now() - interval '2 minutes', now() - interval '1 minute')");
  const deadline = Date.now() + 5000;
  while ((await metric(h, 'dab_mint_budget_replicas')) !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.equal(await metric(h, 'dab_mint_budget_replicas'), 2, 'itself and the live peer');
  await h.registerOrders();
  const bearer = await mapped(h, 'app-5');
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode);
  t.same(codes, [200, 200, 429, 429], 'half of the burst of 4');
});

t.test('config: defaults below AWS\'s ~200/s, env overrides, and a TTL that outlives a late beat', async (t) => {
  const base = { auth: { issuers: [{ issuer: 'https://idp.example', audience: 'dab', jwksUrl: 'https://idp.example/jwks' }] }, store: { embedded: true }, audit: { fingerprintKey: 'a'.repeat(64) } };
  const defaults = parseConfig(base).mintBudget;
  t.same(defaults, { enabled: true, perSecond: 150, burst: 30, heartbeatSeconds: 5, replicaTtlSeconds: 15 });
  const env = { DAB_STORE_EMBEDDED: 'true', DAB_ISSUERS: JSON.stringify(base.auth.issuers), DAB_AUDIT_FINGERPRINT_KEY: 'a'.repeat(64), DAB_MINT_BUDGET_PER_SECOND: '90', DAB_MINT_BUDGET_BURST: '9', DAB_MINT_BUDGET_ENABLED: 'false' };
  t.match(loadConfig(env).mintBudget, { enabled: false, perSecond: 90, burst: 9 });
  t.throws(() => parseConfig({ ...base, mintBudget: { heartbeatSeconds: 10, replicaTtlSeconds: 15 } }), /mintBudget\.replicaTtlSeconds: must be at least twice/);
  t.throws(() => parseConfig({ ...base, mintBudget: { perSecond: 0 } }), /mintBudget/);
  t.throws(() => parseConfig({ ...base, mintBudget: { perMinute: 5 } }), /mintBudget/);
});
