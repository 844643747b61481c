import t from 'tap';
import { ADMIN_SUBJECT, startHarness, type Harness } from '../support/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function admin(h: Harness, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, ifMatch?: string) {
  const headers = { authorization: `Bearer ${await h.adminToken()}`, ...(ifMatch ? { 'if-match': ifMatch } : {}) };
  return h.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}

const auditFor = (h: Harness, id: string) => h.auditRows("rule = $1 AND event_type LIKE 'mapping.%'", [id]);

t.test('mappings API', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.registerOrders({ name: 'payments', dbname: 'payments' });
  const iss = h.issuer.issuer;
  const ids: Record<string, string> = {};

  t.test('create with a subject principal and with a group principal, each audited', async (t) => {
    const bodies = {
      subject: { principal: { issuer: iss, subject: 'app-orders' }, database: 'orders', levels: ['ro'], description: 'orders app' },
      group: { principal: { issuer: iss, group: 'payments-team' }, database: 'payments', levels: ['ro', 'rw'] },
    };
    for (const [kind, body] of Object.entries(bodies)) {
      const res = await admin(h, 'POST', '/v1/mappings', body);
      t.equal(res.statusCode, 201, `${kind}: ${res.body}`);
      const created = res.json();
      t.match(created, { ...body, id: UUID, version: 1, createdAt: String });
      t.equal(created.updatedAt, created.createdAt);
      ids[kind] = created.id;

      const rows = await auditFor(h, created.id);
      t.equal(rows.length, 1, `${kind}: one audit row`);
      t.match(rows[0], { event_type: 'mapping.created', outcome: 'succeeded', actor_subject: ADMIN_SUBJECT, database_name: body.database });
      t.same(rows[0]!.details, { before: null, after: created }, `${kind}: after is the created mapping`);
    }
  });

  t.test('list with filters', async (t) => {
    ids.other = await h.map('app-payments', 'payments', ['ro']);
    const cases: Array<[query: string, expected: string[]]> = [
      ['', ['subject', 'other', 'group']],
      [`?database=orders`, ['subject']],
      [`?database=payments`, ['other', 'group']],
      [`?issuer=${encodeURIComponent(iss)}`, ['subject', 'other', 'group']],
      [`?issuer=${encodeURIComponent('https://elsewhere.example')}`, []],
      ['?subject=app-orders', ['subject']],
      ['?subject=nobody', []],
      ['?group=payments-team', ['group']],
      ['?database=orders&group=payments-team', []],
      ['?database=payments&subject=app-payments', ['other']],
    ];
    for (const [query, expected] of cases) {
      const res = await admin(h, 'GET', `/v1/mappings${query}`);
      t.equal(res.statusCode, 200, `${query}: ${res.body}`);
      t.same(res.json().items.map((m: { id: string }) => m.id).sort(), expected.map((k) => ids[k]).sort(), `list${query || ' (all)'}`);
    }
    const bad = await admin(h, 'GET', '/v1/mappings?colour=blue');
    t.equal(bad.statusCode, 400, 'an unknown filter is refused');
  });

  t.test('get, and 404 for an unknown uuid', async (t) => {
    const res = await admin(h, 'GET', `/v1/mappings/${ids.subject}`);
    t.equal(res.statusCode, 200);
    t.match(res.json(), { id: ids.subject, principal: { subject: 'app-orders' }, levels: ['ro'] });
    const missing = await admin(h, 'GET', '/v1/mappings/00000000-0000-4000-8000-000000000000');
    t.equal(missing.statusCode, 404);
    t.match(missing.json(), { code: 'not_found', status: 404 });
  });

  t.test('replace increments the version and audits before and after', async (t) => {
    const body = { principal: { issuer: iss, subject: 'app-orders' }, database: 'orders', levels: ['ro', 'monitor'] };
    const res = await admin(h, 'PUT', `/v1/mappings/${ids.subject}`, body, '"1"');
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.headers.etag, '"2"');
    const after = res.json();
    t.match(after, { ...body, id: ids.subject, version: 2 });
    t.notOk('description' in after, 'PUT replaces: the omitted description is gone');

    const unknown = await admin(h, 'PUT', '/v1/mappings/00000000-0000-4000-8000-000000000000', body, '"1"');
    t.equal(unknown.statusCode, 404);
    const refused = await admin(h, 'PUT', `/v1/mappings/${ids.subject}`, { ...body, database: 'nope' }, '"2"');
    t.equal(refused.statusCode, 400, 'a mapping to an unregistered database is refused');

    const rows = (await auditFor(h, ids.subject!)).filter((r) => r.event_type === 'mapping.updated');
    t.equal(rows.length, 1, 'one row for the one successful replace');
    const details = rows[0]!.details as { before: Record<string, unknown>; after: Record<string, unknown> };
    t.match(details.before, { version: 1, levels: ['ro'], description: 'orders app' });
    t.same(details.after, after);
  });

  t.test('a group-mapped caller gets a grant until the mapping is deleted', async (t) => {
    const bearer = await h.token('alice', ['staff', 'payments-team']);
    const ok = await h.grant(bearer, { database: 'payments', access: 'rw' });
    t.equal(ok.statusCode, 200, ok.body);
    const [issued] = await h.auditRows('event_id = $1', [ok.json().grantId]);
    t.match(issued, { outcome: 'issued', rule: ids.group, actor_subject: 'alice' });
    t.same(issued?.actor_groups, ['staff', 'payments-team']);

    const outsider = await h.grant(await h.token('mallory', ['staff']), { database: 'payments', access: 'rw' });
    t.equal(outsider.statusCode, 403, 'a caller outside the group is denied');

    const del = await admin(h, 'DELETE', `/v1/mappings/${ids.group}`, undefined, '"1"');
    t.equal(del.statusCode, 204);
    t.equal((await admin(h, 'GET', `/v1/mappings/${ids.group}`)).statusCode, 404, 'gone');
    t.equal((await admin(h, 'DELETE', `/v1/mappings/${ids.group}`, undefined, '"1"')).statusCode, 404, 'second delete');

    const denied = await h.grant(bearer, { database: 'payments', access: 'rw' });
    t.equal(denied.statusCode, 403);
    t.match(denied.json(), { code: 'access_denied' });
    const rows = await h.auditRows("event_type = 'credential.denied' AND actor_subject = 'alice'");
    t.match(rows, [{ outcome: 'denied', reason: 'no_mapping', database_name: 'payments' }]);

    const changes = await auditFor(h, ids.group!);
    t.same(changes.map((r) => r.event_type), ['mapping.created', 'mapping.deleted']);
    const details = changes[1]!.details as { before: Record<string, unknown>; after: unknown };
    t.match(details.before, { id: ids.group, principal: { group: 'payments-team' } });
    t.equal(details.after, null);
  });

  t.test('a mapping with expiresAt stops granting once the clock passes it', async (t) => {
    t.teardown(() => void (h.clock.offsetMs = 0));
    const expiresAt = new Date(h.clock.now().getTime() + 60 * 60_000).toISOString();
    const id = await h.map('temp-contractor', 'orders', ['ro'], { expiresAt });
    t.equal((await admin(h, 'GET', `/v1/mappings/${id}`)).json().expiresAt, expiresAt);
    const bearer = await h.token('temp-contractor');
    t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 200, 'granted before expiry');

    h.clock.offsetMs = 61 * 60_000;
    const res = await h.grant(await h.token('temp-contractor'), { database: 'orders', access: 'ro' });
    t.equal(res.statusCode, 403, res.body);
    t.match(res.json(), { code: 'access_denied' });
    const rows = await h.auditRows("event_type = 'credential.denied' AND actor_subject = 'temp-contractor'");
    t.match(rows, [{ reason: 'mapping_expired', rule: id }]);

    const past = await admin(h, 'POST', '/v1/mappings', { principal: { issuer: iss, subject: 'late' }, database: 'orders', levels: ['ro'], expiresAt });
    t.equal(past.statusCode, 400, 'creating an already-expired mapping is refused');
    t.match(past.json(), { code: 'validation_failed', errors: [{ field: 'body.expiresAt' }] });
  });
});
