import t from 'tap';
import { parseRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { auditorGet, auditorPost, query } from '../support/audit-fixtures.js';
import { startHarness } from '../support/harness.js';

// trace: the most a log could ever say, so "the token is not in the logs" means something.
const h = await startHarness(t, { config: (c) => (c.logLevel = 'trace') });
await h.registerOrders();
const aliceMapping = await h.map('alice', 'orders', ['ro'], { description: 'first' });
const bobMapping = await h.map('group:payments', 'orders', ['ro', 'rw']);

async function grant(subject: string, groups: string[], access: string, reason?: string) {
  const res = await h.grant(await h.token(subject, groups), { database: 'orders', access, ...(reason ? { reason } : {}) });
  if (res.statusCode !== 200) throw new Error(`grant answered ${res.statusCode}: ${res.body}`);
  const body = res.json() as { grantId: string; token: string; expiresAt: string };
  const [row] = await h.auditRows('event_id = $1', [body.grantId]);
  return { ...body, occurredAt: (row?.occurred_at as Date).getTime(), expires: Date.parse(body.expiresAt) };
}

const aliceGrant = await grant('alice', [], 'ro', 'INC-7 slow queries');
// The DBA edits alice's mapping after her grant: holders must show the mapping as it was.
const admin = { authorization: `Bearer ${await h.adminToken()}` };
const put = await h.app.inject({
  method: 'PUT',
  url: `/v1/mappings/${aliceMapping}`,
  headers: { ...admin, 'if-match': '"1"' },
  payload: { principal: { issuer: h.issuer.issuer, subject: 'alice' }, database: 'orders', levels: ['ro'], description: 'second' },
});
if (put.statusCode !== 200) throw new Error(put.body);
h.clock.offsetMs += 10 * 60_000;
const bobGrant = await grant('bob', ['payments'], 'ro');
const carolGrant = await grant('carol', ['payments'], 'rw');
// bob's mapping goes away: his grant still names it, as recorded.
if ((await h.app.inject({ method: 'DELETE', url: `/v1/mappings/${bobMapping}`, headers: { ...admin, 'if-match': '"1"' } })).statusCode !== 204) throw new Error('delete failed');

const holdersAt = async (at: number, dbUser = 'orders_ro', database = 'orders') => {
  const res = await auditorGet(h, `/v1/audit/holders?${query({ database, dbUser, at: new Date(at).toISOString() })}`);
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json() as { at: string; truncated: boolean; items: { grant: { eventId: string; actor: { subject: string }; callerReason: string | null }; mapping: any }[] };
};
const holderIds = async (at: number, dbUser?: string, database?: string) => (await holdersAt(at, dbUser, database)).items.map((i) => i.grant.eventId);

t.test('who held a DB user at an instant: grants whose [issued, expires) window covers it', async (t) => {
  t.same(await holderIds(aliceGrant.occurredAt - 1), [], 'a millisecond before the first grant: nobody');
  t.same(await holderIds(aliceGrant.occurredAt), [aliceGrant.grantId], 'from the instant of issue');
  t.same(await holderIds(aliceGrant.occurredAt + 5 * 60_000), [aliceGrant.grantId]);
  t.same(await holderIds(bobGrant.occurredAt + 1000), [aliceGrant.grantId, bobGrant.grantId], 'overlapping windows, oldest first');
  t.same(await holderIds(aliceGrant.expires), [bobGrant.grantId], 'not at the instant of expiry');
  t.same(await holderIds(bobGrant.expires + 1000), [], 'after every token expired');
  t.same(await holderIds(carolGrant.occurredAt + 1000, 'orders_rw'), [carolGrant.grantId], 'per DB user');
  t.same(await holderIds(carolGrant.occurredAt + 1000, 'orders_ro', 'billing'), [], 'per database');
});

t.test('each holder comes with the caller, their reason and the mapping that allowed it', async (t) => {
  const body = await holdersAt(bobGrant.occurredAt + 1000);
  t.equal(body.at, new Date(bobGrant.occurredAt + 1000).toISOString());
  t.equal(body.truncated, false);
  const [alice, bob] = body.items;
  t.match(alice?.grant, { actor: { subject: 'alice' }, callerReason: 'INC-7 slow queries', rule: aliceMapping, dbUser: 'orders_ro' });
  t.match(alice?.mapping, { id: aliceMapping, recorded: { id: aliceMapping, description: 'first', levels: ['ro'] }, current: { id: aliceMapping, description: 'second' } });
  const [created] = await h.auditRows("event_type = 'mapping.created' AND rule = $1", [aliceMapping]);
  t.equal(alice?.mapping.recordedBy, created?.event_id, 'the mapping.created event it was read from');
  t.match(bob?.mapping, { id: bobMapping, recorded: { principal: { group: 'payments' }, levels: ['ro', 'rw'] }, current: null }, 'deleted since: recorded, no current');

  const limited = await auditorGet(h, `/v1/audit/holders?${query({ database: 'orders', dbUser: 'orders_ro', at: new Date(bobGrant.occurredAt + 1000).toISOString(), limit: 1 })}`);
  t.match(limited.json(), { truncated: true, items: [{ grant: { eventId: aliceGrant.grantId } }] });
  for (const qs of ['database=orders&dbUser=orders_ro', 'database=orders&at=2025-01-01T00:00:00Z', 'database=orders&dbUser=orders_ro&at=noon', 'database=orders&dbUser=orders_ro&at=0000-01-01T00:00:00Z', 'database=orders&dbUser=orders_ro&at=2025-01-01T00:00:00Z&x=1']) {
    const res = await auditorGet(h, `/v1/audit/holders?${qs}`);
    t.equal(res.statusCode, 400, qs);
    t.equal(res.json().code, 'validation_failed');
  }
});

t.test('token lookup: the grant a token came from, by its fingerprint', async (t) => {
  const lookup = async (payload: unknown) => auditorPost(h, '/v1/audit/lookup', payload);
  const found = await lookup({ token: aliceGrant.token });
  t.equal(found.statusCode, 200);
  t.match(found.json(), { truncated: false, items: [{ eventId: aliceGrant.grantId, actor: { subject: 'alice' }, dbUser: 'orders_ro' }] });
  t.equal(found.json().items.length, 1);
  t.notOk(found.body.includes(aliceGrant.token), 'the answer does not echo the token');
  t.same((await lookup({ token: encodeURIComponent(aliceGrant.token) })).json().items.map((e: any) => e.eventId), [aliceGrant.grantId], 'URL-encoded, as in a libpq URI');
  t.same((await lookup({ token: ` ${aliceGrant.token}\n` })).json().items.map((e: any) => e.eventId), [aliceGrant.grantId], 'with stray whitespace');

  const signature = aliceGrant.token.slice(-64);
  const tampered = aliceGrant.token.slice(0, -64) + [...signature].reverse().join('');
  t.same((await lookup({ token: tampered })).json(), { items: [], truncated: false }, 'a tampered token matches nothing');
  t.same((await lookup({ token: 'not even a token' })).json().items, []);

  for (const bad of [{}, { token: '' }, { token: 'x', accessKeyId: 'ASIAAAAAAAAAAAAAAAAA' }, { accessKeyId: 'lowercase-not-akid' }, { token: 'x'.repeat(20_000) }, { tokens: ['x'] }]) {
    const res = await lookup(bad);
    t.equal(res.statusCode, 400, JSON.stringify(bad).slice(0, 60));
    t.equal(res.json().code, 'validation_failed');
  }
  const inUrl = await auditorPost(h, '/v1/audit/lookup?token=not-a-real-token', { accessKeyId: 'ASIA0000000000000000' });
  t.equal(inUrl.statusCode, 400, 'a token in the URL (where access logs keep it) is refused, not quietly accepted');
  t.match(inUrl.json(), { code: 'validation_failed', errors: [{ field: 'querystring.token' }] });
});

t.test('access key lookup: the grants signed with one STS session, to join CloudTrail', async (t) => {
  const accessKeyId = parseRdsAuthToken(bobGrant.token)?.accessKeyId as string;
  t.match(accessKeyId, /^ASIA/);
  const res = await auditorPost(h, '/v1/audit/lookup', { accessKeyId });
  t.equal(res.statusCode, 200);
  const items = res.json().items as { eventId: string; accessKeyId: string; sessionName: string }[];
  t.ok(items.some((e) => e.eventId === bobGrant.grantId), "bob's grant");
  t.ok(items.every((e) => e.accessKeyId === accessKeyId && e.sessionName), 'only that session, with its RoleSessionName');
  t.notOk(items.some((e) => e.eventId === aliceGrant.grantId), "not alice's (her own session)");
  t.same((await auditorPost(h, '/v1/audit/lookup', { accessKeyId: 'ASIA0000000000000000' })).json().items, []);
});

t.test('tokens never reach the logs, not even at trace level', async (t) => {
  t.ok(h.logs.some((l) => l.includes('/v1/audit/lookup')), 'lookups were logged as requests');
  const everything = h.logs.join('\n');
  for (const g of [aliceGrant, bobGrant, carolGrant]) {
    t.notOk(everything.includes(g.token.slice(-64)), 'no token signature in the logs');
    t.notOk(everything.includes(encodeURIComponent(g.token).slice(-64)), 'not URL-encoded either');
  }
  const rows = JSON.stringify(await h.auditRows());
  t.notOk(rows.includes(aliceGrant.token.slice(-64)), 'nor in the audit log');
});
