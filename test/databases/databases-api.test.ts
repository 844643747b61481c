import t from 'tap';
import { parseRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { ADMIN_SUBJECT, EXTERNAL_ID, ROLE_DB, ROLE_RO, ROLE_RW, startHarness, type Harness } from '../support/harness.js';

// One dab for the whole file: each subtest uses its own database names, so they never collide.
const HOST = 'billing.cluster-xyz789.eu-west-1.rds.amazonaws.com';
const billing = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  host: HOST,
  port: 5433,
  region: 'eu-west-1',
  dbname: 'billing',
  roleArn: ROLE_DB,
  externalId: EXTERNAL_ID,
  levels: { ro: { dbUser: 'billing_ro' }, rw: { dbUser: 'billing_rw', roleArn: ROLE_RW } },
  ...extra,
});
const FINGERPRINT = /^hmac-sha256:[0-9a-f]{64}$/;

/** PUT and DELETE send If-Match with the current ETag (read first), as a careful client does. */
async function admin(h: Harness, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) {
  const authorization = `Bearer ${await h.adminToken()}`;
  const current = method === 'PUT' || method === 'DELETE' ? (await h.app.inject({ method: 'GET', url, headers: { authorization } })).headers.etag : undefined;
  const headers = { authorization, 'if-match': String(current ?? '"1"') };
  return h.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
}

const changes = (h: Harness, name: string) => h.auditRows("database_name = $1 AND event_type LIKE 'database.%'", [name]);

t.test('databases API', async (t) => {
  const h = await startHarness(t);

  t.test('create answers 201 with the registration, version 1 and timestamps, and audits it', async (t) => {
    const before = Date.now();
    const res = await admin(h, 'POST', '/v1/databases', billing('billing'));
    t.equal(res.statusCode, 201, res.body);
    const body = res.json();
    t.match(body, { ...billing('billing'), version: 1, sslmode: 'verify-full' });
    t.same(body.levels, billing('billing').levels, 'levels echoed as given, no roleArn filled in');
    t.ok(Date.parse(body.createdAt) >= before - 1000, 'createdAt is now');
    t.equal(body.updatedAt, body.createdAt);

    const rows = await changes(h, 'billing');
    t.equal(rows.length, 1, 'exactly one audit row');
    t.match(rows[0], { event_type: 'database.created', outcome: 'succeeded', actor_subject: ADMIN_SUBJECT, actor_issuer: h.issuer.issuer, rule: 'billing' });
    const details = rows[0]!.details as { before: unknown; after: Record<string, unknown> };
    t.equal(details.before, null);
    t.match(details.after, { name: 'billing', host: HOST, version: 1 });
    t.match(details.after.externalId, FINGERPRINT, 'ExternalId fingerprinted');
    t.notOk(JSON.stringify(rows).includes(EXTERNAL_ID), 'ExternalId never in clear');
  });

  t.test('a duplicate name is a 409 conflict and writes no audit row', async (t) => {
    const res = await admin(h, 'POST', '/v1/databases', billing('billing', { host: 'other.example.com' }));
    t.equal(res.statusCode, 409, res.body);
    t.match(res.json(), { code: 'conflict', status: 409, type: 'urn:dab:problem:conflict' });
    t.equal((await changes(h, 'billing')).length, 1, 'still only the create row');
    t.equal((await admin(h, 'GET', '/v1/databases/billing')).json().host, HOST, 'original untouched');
  });

  t.test('list and get', async (t) => {
    await admin(h, 'POST', '/v1/databases', billing('analytics'));
    const list = await admin(h, 'GET', '/v1/databases');
    t.equal(list.statusCode, 200);
    t.same(list.json().items.map((d: { name: string }) => d.name), ['analytics', 'billing'], 'ordered by name');

    const one = await admin(h, 'GET', '/v1/databases/billing');
    t.equal(one.statusCode, 200);
    t.match(one.json(), { name: 'billing', host: HOST, port: 5433, version: 1 });

    const missing = await admin(h, 'GET', '/v1/databases/nope');
    t.equal(missing.statusCode, 404);
    t.match(missing.json(), { code: 'not_found', status: 404 });
    t.match(missing.headers['content-type'], /^application\/problem\+json/);
  });

  t.test('PUT replaces: version increments, name comes from the path, before/after audited', async (t) => {
    const { name: _name, ...input } = billing('ignored');
    const res = await admin(h, 'PUT', '/v1/databases/billing', { ...input, port: 6543, description: 'moved', externalId: 'ext-rotated-1' });
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.match(body, { name: 'billing', port: 6543, description: 'moved', version: 2, externalId: 'ext-rotated-1' });
    t.ok(Date.parse(body.updatedAt) >= Date.parse(body.createdAt));
    t.equal((await admin(h, 'GET', '/v1/databases/billing')).json().version, 2, 'persisted');

    const withName = await admin(h, 'PUT', '/v1/databases/billing', { ...input, name: 'renamed' });
    t.equal(withName.statusCode, 400, 'a name in the body is refused, not used');
    t.match(withName.json(), { code: 'validation_failed' });

    const unknown = await admin(h, 'PUT', '/v1/databases/ghost', input);
    t.equal(unknown.statusCode, 404);
    t.equal((await changes(h, 'ghost')).length, 0, 'a refused change writes no audit row');

    const rows = await h.auditRows("event_type = 'database.updated'");
    t.equal(rows.length, 1, 'one row for the one successful replace');
    t.match(rows[0], { database_name: 'billing', outcome: 'succeeded', actor_subject: ADMIN_SUBJECT });
    const { before, after } = rows[0]!.details as Record<string, Record<string, unknown>>;
    t.match(before, { port: 5433, version: 1, externalId: FINGERPRINT });
    t.match(after, { port: 6543, version: 2, description: 'moved', externalId: FINGERPRINT });
    t.not(before!.externalId, after!.externalId, 'a rotated ExternalId shows as a changed fingerprint');
    t.notOk(JSON.stringify(rows).includes('ext-rotated-1') || JSON.stringify(rows).includes(EXTERNAL_ID), 'no ExternalId in clear');
  });

  t.test('delete answers 204 and audits; unknown is 404', async (t) => {
    const res = await admin(h, 'DELETE', '/v1/databases/analytics');
    t.equal(res.statusCode, 204);
    t.equal(res.body, '');
    t.equal((await admin(h, 'GET', '/v1/databases/analytics')).statusCode, 404, 'gone');
    const rows = await h.auditRows("event_type = 'database.deleted'");
    t.equal(rows.length, 1);
    t.match(rows[0], { database_name: 'analytics', outcome: 'succeeded', actor_subject: ADMIN_SUBJECT });
    const details = rows[0]!.details as { before: Record<string, unknown>; after: unknown };
    t.match(details.before, { name: 'analytics', externalId: FINGERPRINT });
    t.equal(details.after, null);
    t.equal((await admin(h, 'DELETE', '/v1/databases/analytics')).statusCode, 404, 'second delete');
  });

  t.test('delete while a mapping references the database is a 409 and writes no audit row', async (t) => {
    await h.map('app-billing', 'billing', ['ro']);
    const res = await admin(h, 'DELETE', '/v1/databases/billing');
    t.equal(res.statusCode, 409, res.body);
    t.match(res.json(), { code: 'conflict', detail: /named by mappings/ });
    t.equal((await h.auditRows("event_type = 'database.deleted' AND database_name = 'billing'")).length, 0);
    t.equal((await admin(h, 'GET', '/v1/databases/billing')).statusCode, 200, 'still registered');
  });

  t.test('PUT may not drop a level that mappings still grant (409, nothing changed)', async (t) => {
    const before = (await admin(h, 'GET', '/v1/databases/billing')).json();
    const { name: _n, version: _v, createdAt: _c, updatedAt: _u, ...input } = before;
    const res = await admin(h, 'PUT', '/v1/databases/billing', { ...input, levels: { rw: { dbUser: 'billing_rw_only' } } });
    t.equal(res.statusCode, 409, res.body);
    t.match(res.json(), { code: 'conflict', detail: /would no longer define/ });
    t.equal((await admin(h, 'GET', '/v1/databases/billing')).json().version, before.version, 'unchanged');
  });

  t.test('sslmode defaults to verify-full and port to 5432; an explicit sslmode is kept', async (t) => {
    const { port: _port, ...noPort } = billing('defaults');
    const res = await admin(h, 'POST', '/v1/databases', noPort);
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json(), { sslmode: 'verify-full', port: 5432 });
    const explicit = await admin(h, 'POST', '/v1/databases', billing('explicit', { sslmode: 'require' }));
    t.equal(explicit.json().sslmode, 'require');
    const bad = await admin(h, 'POST', '/v1/databases', billing('badssl', { sslmode: 'disable' }));
    t.equal(bad.statusCode, 400, 'sslmode disable is not accepted');
  });

  t.test("a level's roleArn is optional: without one, grants assume the database's role", async (t) => {
    await h.registerOrders();
    const cases = [
      { level: 'ro', user: 'orders_ro', role: ROLE_RO },
      { level: 'rw', user: 'orders_rw', role: ROLE_RW },
      { level: 'monitor', user: 'orders_monitor', role: ROLE_DB },
    ];
    await h.map('app-orders', 'orders', cases.map((c) => c.level));
    const bearer = await h.token('app-orders');
    for (const c of cases) {
      const res = await h.grant(bearer, { database: 'orders', access: c.level });
      t.equal(res.statusCode, 200, `${c.level}: ${res.body}`);
      const grant = res.json();
      t.match(grant, { user: c.user, sslmode: 'verify-full' });
      const session = h.sts.findSession(parseRdsAuthToken(grant.token)!.accessKeyId);
      t.equal(session?.roleArn, c.role, `${c.level} signs with ${c.role}`);
      t.equal(session?.externalId, EXTERNAL_ID, 'the ExternalId reaches STS');
      const [row] = await h.auditRows('event_id = $1', [grant.grantId]);
      t.equal(row?.role_arn, c.role, `${c.level} audited with its role`);
    }
  });
});
