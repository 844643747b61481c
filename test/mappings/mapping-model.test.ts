import t from 'tap';
import { startHarness, type Harness } from '../support/harness.js';

// The DBA model through the API and the grant path: labels and selectors, claim principals,
// time bounds, required reasons, names, overlap refusal, and optimistic concurrency (If-Match).

async function admin(h: Harness, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) {
  return h.app.inject({ method, url, headers: { authorization: `Bearer ${await h.adminToken()}`, ...headers }, ...(payload ? { payload } : {}) });
}

t.test('DBA mapping model', async (t) => {
  const h = await startHarness(t);
  const iss = h.issuer.issuer;
  await h.registerOrders({ labels: { env: 'prod', team: 'payments' } });
  await h.registerOrders({ name: 'ledger', dbname: 'ledger', labels: { env: 'prod', team: 'finance' } });
  await h.registerOrders({ name: 'scratch', dbname: 'scratch', labels: { env: 'dev', team: 'payments' }, levels: { ro: { dbUser: 'scratch_ro' } } });
  const create = async (body: object) => admin(h, 'POST', '/v1/mappings', body);

  t.test('a label selector grants on every database carrying its labels, and only those', async (t) => {
    const res = await create({ name: 'prod-readers', principal: { issuer: iss, group: 'sre' }, selector: { env: 'prod' }, levels: ['ro'], owner: 'team-sre' });
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json(), { name: 'prod-readers', selector: { env: 'prod' }, owner: 'team-sre', version: 1 });
    t.notOk('database' in res.json());
    const bearer = await h.token('sam', ['sre']);
    for (const db of ['orders', 'ledger']) t.equal((await h.grant(bearer, { database: db, access: 'ro' })).statusCode, 200, `granted on ${db}`);
    const dev = await h.grant(bearer, { database: 'scratch', access: 'ro' });
    t.equal(dev.statusCode, 403, 'scratch is env=dev');
    t.match(await h.auditRows("actor_subject = 'sam' AND database_name = 'scratch'"), [{ outcome: 'denied', reason: 'no_mapping' }]);

    const listed = await admin(h, 'GET', '/v1/mappings?database=ledger');
    t.same(listed.json().items.map((m: { name: string }) => m.name), ['prod-readers'], 'a database filter finds selector mappings that apply to it');
    t.same((await admin(h, 'GET', '/v1/mappings?owner=team-sre')).json().items.map((m: { name: string }) => m.name), ['prod-readers']);
  });

  t.test('a claim principal matches a string claim or an array claim containing the value', async (t) => {
    const res = await create({ name: 'finance-dept', principal: { issuer: iss, claim: { name: 'department', value: 'finance' } }, database: 'ledger', levels: ['rw'] });
    t.equal(res.statusCode, 201, res.body);
    const asString = await h.issuer.sign({ sub: 'fiona', department: 'finance' });
    const asArray = await h.issuer.sign({ sub: 'felix', department: ['ops', 'finance'] });
    const other = await h.issuer.sign({ sub: 'oscar', department: 'ops' });
    t.equal((await h.grant(asString, { database: 'ledger', access: 'rw' })).statusCode, 200);
    t.equal((await h.grant(asArray, { database: 'ledger', access: 'rw' })).statusCode, 200);
    t.equal((await h.grant(other, { database: 'ledger', access: 'rw' })).statusCode, 403);
    const [row] = await h.auditRows("actor_subject = 'fiona'");
    t.equal(row?.rule, res.json().id, 'the audit row names the claim mapping as the rule');
  });

  t.test('requireReason: refused without a reason (403 reason_required, audited), granted with one', async (t) => {
    const res = await create({ name: 'orders-rw-oncall', principal: { issuer: iss, subject: 'oncall' }, database: 'orders', levels: ['rw'], requireReason: true });
    t.equal(res.statusCode, 201, res.body);
    const bearer = await h.token('oncall');
    const refused = await h.grant(bearer, { database: 'orders', access: 'rw' });
    t.equal(refused.statusCode, 403);
    t.match(refused.json(), { code: 'reason_required' });
    t.match(await h.auditRows("actor_subject = 'oncall'"), [{ outcome: 'denied', reason: 'reason_required', rule: res.json().id }]);
    const granted = await h.grant(bearer, { database: 'orders', access: 'rw', reason: 'INC-42 stuck payments' });
    t.equal(granted.statusCode, 200, granted.body);
    t.match((await h.auditRows('event_id = $1', [granted.json().grantId]))[0], { outcome: 'issued', caller_reason: 'INC-42 stuck payments' });
  });

  t.test('notBefore: refused as mapping_not_yet_valid until then (break-glass windows)', async (t) => {
    t.teardown(() => void (h.clock.offsetMs = 0));
    const from = new Date(h.clock.now().getTime() + 60 * 60_000);
    const until = new Date(from.getTime() + 2 * 60 * 60_000);
    const res = await create({ name: 'window', principal: { issuer: iss, subject: 'contractor' }, database: 'orders', levels: ['ro'], notBefore: from.toISOString(), expiresAt: until.toISOString() });
    t.equal(res.statusCode, 201, res.body);
    const early = await h.grant(await h.token('contractor'), { database: 'orders', access: 'ro' });
    t.equal(early.statusCode, 403);
    t.match(await h.auditRows("actor_subject = 'contractor'"), [{ reason: 'mapping_not_yet_valid' }]);
    h.clock.offsetMs = 61 * 60_000;
    t.equal((await h.grant(await h.token('contractor'), { database: 'orders', access: 'ro' })).statusCode, 200, 'inside the window');
    h.clock.offsetMs = 3 * 60 * 60_000 + 60_000;
    t.equal((await h.grant(await h.token('contractor'), { database: 'orders', access: 'ro' })).statusCode, 403, 'after it');
  });

  t.test('refused with the field at fault: bad targets, levels, overlaps, time bounds', async (t) => {
    const p = { issuer: iss, subject: 'vic' };
    const cases: Array<[string, object, string, RegExp]> = [
      ['both database and selector', { principal: p, database: 'orders', selector: { env: 'prod' }, levels: ['ro'] }, 'body.selector', /not both/],
      ['neither', { principal: p, levels: ['ro'] }, 'body.database', /required/],
      ['selector matching nothing', { principal: p, selector: { env: 'qa' }, levels: ['ro'] }, 'body.selector', /matches no registered database/],
      ['level no selected database defines', { principal: p, selector: { env: 'dev' }, levels: ['rw'] }, 'body.levels', /rw not defined/],
      ['level the database does not define', { principal: p, database: 'scratch', levels: ['monitor'] }, 'body.levels', /monitor not defined on scratch/],
      ['notBefore after expiresAt', { principal: p, database: 'orders', levels: ['ro'], notBefore: '2099-01-02T00:00:00Z', expiresAt: '2099-01-01T00:00:00Z' }, 'body.notBefore', /before expiresAt/],
      ['overlapping an existing mapping', { principal: { issuer: iss, group: 'sre' }, selector: { env: 'prod' }, levels: ['ro', 'monitor'] }, 'body.levels', /overlaps mapping "prod-readers"/],
      ['a name that looks like an id', { name: '0c5e2b7a-1d2f-4e5a-9b8c-7d6e5f4a3b2c', principal: p, database: 'orders', levels: ['ro'] }, 'body.name', /pattern/],
      ['an unknown claim field', { principal: { issuer: iss, claim: { name: 'dept', value: 'x', op: 'eq' } }, database: 'orders', levels: ['ro'] }, 'body.principal', /./],
    ];
    for (const [name, body, field, message] of cases) {
      const res = await create(body);
      t.equal(res.statusCode, 400, `${name}: ${res.body}`);
      t.match(res.json(), { code: 'validation_failed' }, name);
      t.ok(res.json().errors?.some((e: { field: string; message: string }) => e.field.startsWith(field) && message.test(e.message)), `${name}: ${JSON.stringify(res.json().errors)}`);
    }
    const dup = await create({ name: 'prod-readers', principal: p, database: 'orders', levels: ['ro'] });
    t.equal(dup.statusCode, 409, 'a taken name is a conflict');
    const disjoint = await create({ principal: { issuer: iss, group: 'sre' }, selector: { env: 'prod' }, levels: ['monitor'] });
    t.equal(disjoint.statusCode, 201, 'the same principal and target with other levels is fine');
    t.match(disjoint.json().name, /^mapping-[0-9a-f]{8}$/, 'a name is generated when none is given');
  });

  t.test('If-Match: GET gives the ETag; PUT/DELETE need it; a stale one is 412 and changes nothing', async (t) => {
    const got = await admin(h, 'GET', '/v1/mappings/prod-readers');
    t.equal(got.statusCode, 200, 'a mapping can be read by name');
    t.equal(got.headers.etag, `"${got.json().version}"`);
    const { id, version: _v, createdAt: _c, updatedAt: _u, ...body } = got.json();
    const changed = { ...body, description: 'all prod, read-only' };

    const missing = await admin(h, 'PUT', `/v1/mappings/${id}`, changed);
    t.equal(missing.statusCode, 428);
    t.match(missing.json(), { code: 'precondition_required' });
    const malformed = await admin(h, 'PUT', `/v1/mappings/${id}`, changed, { 'if-match': '*' });
    t.equal(malformed.statusCode, 400);
    const ok = await admin(h, 'PUT', `/v1/mappings/${id}`, changed, { 'if-match': got.headers.etag as string });
    t.equal(ok.statusCode, 200, ok.body);
    t.equal(ok.headers.etag, '"2"');
    const stale = await admin(h, 'PUT', `/v1/mappings/${id}`, { ...body, description: 'lost update' }, { 'if-match': got.headers.etag as string });
    t.equal(stale.statusCode, 412);
    t.match(stale.json(), { code: 'precondition_failed', detail: /version 2, not 1/ });
    t.equal((await admin(h, 'GET', `/v1/mappings/${id}`)).json().description, 'all prod, read-only', 'the stale write changed nothing');
    t.equal((await h.auditRows("event_type = 'mapping.updated' AND rule = $1", [id])).length, 1, 'only the successful change is audited');

    const staleDelete = await admin(h, 'DELETE', '/v1/mappings/prod-readers', undefined, { 'if-match': '"1"' });
    t.equal(staleDelete.statusCode, 412);

    const db = await admin(h, 'GET', '/v1/databases/scratch');
    const { name: _n, version: _dv, createdAt: _dc, updatedAt: _du, ...dbBody } = db.json();
    t.equal((await admin(h, 'PUT', '/v1/databases/scratch', { ...dbBody, port: 6000 })).statusCode, 428);
    t.equal((await admin(h, 'PUT', '/v1/databases/scratch', { ...dbBody, port: 6000 }, { 'if-match': '"7"' })).statusCode, 412);
    const dbOk = await admin(h, 'PUT', '/v1/databases/scratch', { ...dbBody, port: 6000 }, { 'if-match': db.headers.etag as string });
    t.equal(dbOk.statusCode, 200, dbOk.body);
    t.equal((await admin(h, 'DELETE', '/v1/databases/scratch', undefined, { 'if-match': db.headers.etag as string })).statusCode, 412, 'deleting from a stale read is refused too');
  });

  t.test('labels and resourceId are validated and returned', async (t) => {
    const got = (await admin(h, 'GET', '/v1/databases/orders')).json();
    t.same(got.labels, { env: 'prod', team: 'payments' });
    const { version: _v, createdAt: _c, updatedAt: _u, ...body } = got;
    for (const [name, extra] of [
      ['label key with spaces', { labels: { 'bad key': 'x' } }],
      ['label value too long', { labels: { env: 'x'.repeat(64) } }],
      ['resourceId of the wrong shape', { resourceId: 'i-12345' }],
    ] as const) {
      const res = await admin(h, 'POST', '/v1/databases', { ...body, name: 'labelled', ...extra });
      t.equal(res.statusCode, 400, `${name}: ${res.body}`);
    }
    const ok = await admin(h, 'POST', '/v1/databases', { ...body, name: 'labelled', resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0' });
    t.equal(ok.statusCode, 201, ok.body);
    t.equal(ok.json().resourceId, 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0');
  });
});
