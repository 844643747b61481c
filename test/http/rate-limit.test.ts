import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createRefusalAudit } from '../../src/abuse/refusal-audit.js';
import { createTokenBuckets } from '../../src/abuse/token-buckets.js';
import { createMetrics } from '../../src/http/metrics.js';
import { startHarness, type Harness } from '../support/harness.js';
import { openTestStore } from '../support/test-store.js';

// Floods (issue 10): one caller produced 1,500 audited denials in 13 s. Small limits here.
// Refill slowly (one per 100 s), so a loaded machine's pauses do not hand out extra requests mid-test.
const LIMITS = { caller: { burst: 5, perSecond: 0.01 }, admin: { burst: 4, perSecond: 0.01 }, unauthenticated: { burst: 3, perSecond: 0.01 }, summaryWindowSeconds: 1 };
const BODY = { database: 'orders', access: 'ro' };
// Each harness starts a store, an STS emulator and an IdP: slow on a shared machine, not a speed target.
t.setTimeout(600_000);

const grant = (h: Harness, bearer: string, remoteAddress = '203.0.113.7') =>
  h.app.inject({ method: 'POST', url: '/v1/credentials', payload: BODY, remoteAddress, headers: { authorization: `Bearer ${bearer}` } });

async function metric(h: Harness, line: string): Promise<number> {
  const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.split(' ').pop()) : 0;
}

async function waitFor<T>(fn: () => Promise<T[]>, count: number, ms = 15000): Promise<T[]> {
  const end = Date.now() + ms;
  let rows = await fn();
  while (rows.length < count && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await fn();
  }
  return rows;
}

t.test('one identity hammering gets 429 with Retry-After; the flood writes two audit rows, not one per request', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.rateLimit = LIMITS) });
  await h.registerOrders();
  const flooder = await h.token('flooder'); // authenticated, but mapped to nothing: every grant is a denial
  const statuses: number[] = [];
  let last;
  const floodStart = Date.now();
  for (let i = 0; i < 40; i++) statuses.push((last = await grant(h, flooder)).statusCode);
  t.same(statuses.slice(0, 5), [403, 403, 403, 403, 403], 'the burst is served (and denied by the mappings)');
  t.ok(statuses.slice(5).every((s) => s === 429), 'then 429');
  t.equal(last?.json().code, 'rate_limited');
  t.match(String(last?.headers['content-type']), /^application\/problem\+json/);
  t.ok(Number(last?.headers['retry-after']) >= 1, `Retry-After: ${last?.headers['retry-after']}`);

  t.equal((await h.auditRows("event_type = 'credential.denied'")).length, 5, 'only the served requests were audited as denials');
  // One window of 1 s, unless the machine was slow enough for the 35 refusals to span several:
  // then one started + one summary row per window, never a row per refused request.
  const windows = Math.ceil((Date.now() - floodStart) / 1000) + 1;
  const started = await h.auditRows("event_type = 'rate_limit.started'");
  t.ok(started.length >= 1 && started.length <= windows, `one row at the first refusal of each window (${started.length})`);
  t.match(started[0], { actor_subject: 'flooder', outcome: 'denied', reason: 'rate_limited', source_ip: '203.0.113.7' });
  const summary = await waitFor(() => h.auditRows("event_type = 'rate_limit.summary'"), started.length);
  t.equal(summary.length, started.length, 'one summary row when each window closed');
  t.match(summary[0], { actor_subject: 'flooder', details: { tier: 'caller', windowSeconds: 1 } });
  t.equal(summary.reduce((n, r) => n + (r.details as { refused: number }).refused, 0), 35, 'the summaries count all 35 refusals');
  t.equal(await metric(h, 'dab_rate_limited_total{tier="caller",key="identity"}'), 35, 'refusals counted in metrics');

  // The documented answer is in the schema (and so in the OpenAPI document).
  const spec = (h.app as unknown as { swagger(): { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> } }).swagger();
  t.ok(spec.paths['/v1/credentials']?.post?.responses['429'], 'POST /v1/credentials documents 429');
  t.ok(spec.paths['/v1/databases']?.get?.responses['429'], 'admin routes document 429');
  t.notOk(spec.paths['/healthz']?.get?.responses['429'], 'unlimited routes do not');

  // Admin routes: their own per-identity budget (registerOrders above used one of its 4).
  const admin = await h.adminToken();
  const statuses2: number[] = [];
  for (let i = 0; i < 8; i++) statuses2.push((await h.app.inject({ method: 'GET', url: '/v1/databases', headers: { authorization: `Bearer ${admin}` } })).statusCode);
  const served = statuses2.filter((s) => s === 200).length;
  t.ok(served >= 3 && served <= 4 && statuses2.slice(served).every((s) => s === 429), `admin tier limited per identity: ${statuses2.join(' ')}`);
});

t.test('callers behind one address (NAT) do not starve each other', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.rateLimit = LIMITS) });
  await h.registerOrders();
  await h.map('well-behaved', 'orders', ['ro']);
  const flooder = await h.token('flooder');
  for (let i = 0; i < 20; i++) await grant(h, flooder, '198.51.100.1');
  t.equal((await grant(h, flooder, '198.51.100.1')).statusCode, 429, 'the flooder is limited');
  const neighbour = await h.token('well-behaved');
  t.equal((await grant(h, neighbour, '198.51.100.1')).statusCode, 200, 'another identity on the same address is served');

  // Failed authentications are limited per address, and only they: a valid caller there is still served.
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await grant(h, `${flooder.slice(0, -4)}AAAA`, '198.51.100.1')).statusCode);
  t.same(statuses, [401, 401, 401, 429, 429, 429], 'bad tokens: 401 for the burst, then 429');
  t.equal((await grant(h, 'not.a.jwt', '198.51.100.2')).statusCode, 401, 'another address still gets its 401');
  t.equal((await grant(h, neighbour, '198.51.100.1')).statusCode, 200, 'a valid caller on the failing address is served');
  const rows = await waitFor(() => h.auditRows("event_type = 'rate_limit.summary' AND actor_subject IS NULL"), 1);
  t.match(rows[0], { source_ip: '198.51.100.1', details: { tier: 'unauthenticated' } }, 'the address flood is summarised too');
  await new Promise((r) => setTimeout(r, 1500)); // (a slow machine may have split the three refusals over windows)
  const all = await h.auditRows("event_type = 'rate_limit.summary' AND actor_subject IS NULL");
  t.equal(all.reduce((n, r) => n + (r.details as { refused: number }).refused, 0), 3, 'all three refusals counted');
  t.equal(await metric(h, 'dab_rate_limited_total{tier="unauthenticated",key="source_ip"}'), 3);
});

t.test('limits can be turned off', async (t) => {
  const off = await startHarness(t, { config: (c) => (c.rateLimit = { ...LIMITS, enabled: false }) });
  const token = await off.token('flooder');
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) seen.add((await grant(off, token)).statusCode);
  t.same([...seen], [403], 'no 429 when disabled');
});

t.test('a window still open at shutdown gets its summary row', async (t) => {
  const testStore = await openTestStore();
  t.teardown(() => testStore.close());
  const audit = createRefusalAudit({ store: testStore.store, macKey: randomBytes(32), metrics: createMetrics(), log: { warn: () => undefined }, windowSeconds: 3600, maxOpenWindows: 10 });
  for (let i = 0; i < 7; i++) audit.refused({ key: 'k', tier: 'caller', actor: { issuer: 'https://idp', subject: 's', groups: [] }, sourceIp: '192.0.2.1', userAgent: null, requestId: 'r1' });
  await audit.close();
  const rows = (await testStore.store.query("SELECT event_type, details FROM audit_events WHERE event_type LIKE 'rate_limit.%' ORDER BY id")).rows;
  t.match(rows, [{ event_type: 'rate_limit.started', details: { refused: 1 } }, { event_type: 'rate_limit.summary', details: { refused: 7 } }]);
});

t.test('memory stays bounded under many distinct identities', async (t) => {
  let clock = 0;
  const buckets = createTokenBuckets({ maxKeys: 100, now: () => clock });
  const rule = { burst: 2, perSecond: 1 };
  for (let i = 0; i < 10000; i++) buckets.take(`caller\0issuer\0subject-${i}`, rule);
  t.equal(buckets.size, 100, 'least recently seen forgotten past maxKeys');
  // The bucket itself behaves: burst, refusal with a Retry-After, refill with time.
  t.same([buckets.take('a', rule).ok, buckets.take('a', rule).ok], [true, true]);
  t.same(buckets.take('a', rule), { ok: false, retryAfterSeconds: 1 });
  clock += 1000;
  t.equal(buckets.take('a', rule).ok, true, 'refilled after a second');

  // Open summary windows are bounded too: the oldest is closed (summary written), not dropped.
  const testStore = await openTestStore();
  t.teardown(() => testStore.close());
  const audit = createRefusalAudit({ store: testStore.store, macKey: randomBytes(32), metrics: createMetrics(), log: { warn: () => undefined }, windowSeconds: 3600, maxOpenWindows: 10 });
  for (let i = 0; i < 50; i++) audit.refused({ key: `k${i}`, tier: 'unauthenticated', actor: null, sourceIp: `10.0.0.${i}`, userAgent: null, requestId: `r${i}` });
  t.equal(audit.openWindows, 10, 'at most maxOpenWindows open');
  await audit.close();
  const counts = (await testStore.store.query("SELECT event_type, count(*)::int AS n FROM audit_events GROUP BY event_type ORDER BY event_type")).rows;
  t.same(counts, [{ event_type: 'rate_limit.started', n: 50 }, { event_type: 'rate_limit.summary', n: 50 }], 'every window summarised once');
});
