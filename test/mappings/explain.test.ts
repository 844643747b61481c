import t from 'tap';
import { startHarness, type Harness } from '../support/harness.js';

// explain (admins, for anyone) and "what can I get?" (any caller, for themselves): the same
// decision logic as the grant path, with its working shown.

const explain = async (h: Harness, body: object, bearer?: string) =>
  h.app.inject({ method: 'POST', url: '/v1/access/explain', payload: body, headers: { authorization: `Bearer ${bearer ?? (await h.adminToken())}` } });

t.test('explain and what-can-I-get', async (t) => {
  const h = await startHarness(t);
  const iss = h.issuer.issuer;
  await h.registerOrders({ labels: { env: 'prod' } });
  await h.registerOrders({ name: 'reports', dbname: 'reports', labels: { env: 'prod' }, levels: { ro: { dbUser: 'reports_ro' } } });
  const soon = new Date(h.clock.now().getTime() + 3_600_000).toISOString();
  const past = new Date(h.clock.now().getTime() + 60_000).toISOString();
  const ids = {
    group: await h.map('group:analysts', 'orders', ['ro']),
    rw: await h.map('alice', 'orders', ['rw'], { name: 'alice-rw', requireReason: true }),
    later: await h.map('alice', 'orders', ['monitor'], { name: 'alice-later', notBefore: soon }),
    expiring: await h.map('bob', 'orders', ['monitor'], { name: 'bob-monitor', expiresAt: past }),
  };
  const selector = await h.app.inject({ method: 'POST', url: '/v1/mappings', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { name: 'prod-dept', principal: { issuer: iss, claim: { name: 'dept', value: 'data' } }, selector: { env: 'prod' }, levels: ['ro'] } });
  t.equal(selector.statusCode, 201, selector.body);
  h.clock.offsetMs = 2 * 60_000; // bob's mapping has expired now

  const alice = { issuer: iss, subject: 'alice', groups: ['analysts'] };
  const cases: Array<[string, object, object]> = [
    ['allowed through a group', { principal: alice, database: 'orders', access: 'ro' }, { allowed: true, reason: 'mapping_allows', rule: { id: ids.group }, dbUser: 'orders_ro' }],
    ['reason required', { principal: alice, database: 'orders', access: 'rw' }, { allowed: false, reason: 'reason_required', rule: { name: 'alice-rw' } }],
    ['with a reason', { principal: alice, database: 'orders', access: 'rw', reason: 'INC-1' }, { allowed: true, rule: { name: 'alice-rw' }, dbUser: 'orders_rw' }],
    ['not yet valid', { principal: alice, database: 'orders', access: 'monitor' }, { allowed: false, reason: 'mapping_not_yet_valid', rule: { name: 'alice-later' } }],
    ['later, inside the window', { principal: alice, database: 'orders', access: 'monitor', at: new Date(Date.parse(soon) + 1000).toISOString() }, { allowed: true }],
    ['expired', { principal: { issuer: iss, subject: 'bob' }, database: 'orders', access: 'monitor' }, { allowed: false, reason: 'mapping_expired', rule: { id: ids.expiring } }],
    ['level not granted', { principal: { issuer: iss, subject: 'bob', groups: ['analysts'] }, database: 'orders', access: 'rw' }, { allowed: false, reason: 'level_not_granted' }],
    ['level not defined', { principal: alice, database: 'reports', access: 'rw' }, { allowed: false, reason: 'level_not_defined' }],
    ['no mapping', { principal: { issuer: iss, subject: 'carol' }, database: 'orders', access: 'ro' }, { allowed: false, reason: 'no_mapping', rule: null, considered: [] }],
    ['unknown database', { principal: alice, database: 'ghost', access: 'ro' }, { allowed: false, reason: 'unknown_database' }],
    ['by claim and selector', { principal: { issuer: iss, subject: 'dana', claims: { dept: ['data', 'ml'] } }, database: 'reports', access: 'ro' }, { allowed: true, rule: { name: 'prod-dept' } }],
  ];
  for (const [name, body, expected] of cases) {
    const res = await explain(h, body);
    t.equal(res.statusCode, 200, `${name}: ${res.body}`);
    t.match(res.json(), expected, name);
  }

  const shown = (await explain(h, { principal: alice, database: 'orders', access: 'monitor' })).json();
  const groupMapping = (await h.app.inject({ method: 'GET', url: `/v1/mappings/${ids.group}`, headers: { authorization: `Bearer ${await h.adminToken()}` } })).json();
  t.same(shown.considered.map((c: { name: string; verdict: string }) => `${c.name}:${c.verdict}`), ['alice-later:not_yet_valid', 'alice-rw:other_levels', `${groupMapping.name}:other_levels`], 'every applicable mapping with its verdict, most specific first');

  t.test('explain is for admins; bad input is a 400', async (t) => {
    t.equal((await explain(h, { principal: alice, database: 'orders', access: 'ro' }, await h.token('alice'))).statusCode, 403);
    t.equal((await explain(h, { principal: { issuer: iss }, database: 'orders', access: 'ro' })).statusCode, 400, 'a principal needs a subject');
    t.equal((await explain(h, { principal: alice, database: 'orders', access: 'admin' })).statusCode, 400);
    t.equal((await explain(h, { principal: alice, database: 'orders', access: 'ro', at: 'yesterday' })).statusCode, 400);
  });

  t.test('any caller may ask what it can get, for itself only', async (t) => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/access/mine', headers: { authorization: `Bearer ${await h.issuer.sign({ sub: 'alice', groups: ['analysts'], dept: 'data' })}` } });
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json().items.map((i: { database: string; level: string; requireReason: boolean }) => `${i.database}/${i.level}${i.requireReason ? ' (reason)' : ''}`), ['orders/ro', 'orders/rw (reason)', 'reports/ro']);
    t.equal((await h.app.inject({ method: 'GET', url: '/v1/access/mine' })).statusCode, 401);
  });
});
