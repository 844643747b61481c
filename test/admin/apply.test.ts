import t from 'tap';
import { EXTERNAL_ID, ROLE_DB, ROLE_RO, ROLE_RW, startHarness, type Harness } from '../support/harness.js';

// Declarative apply, batched changes, export and dry-run impact: one transaction each.

const post = async (h: Harness, url: string, payload: object, bearer?: string) =>
  h.app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${bearer ?? (await h.adminToken())}` } });

function database(name: string, labels: Record<string, string> = {}) {
  return {
    name,
    host: `${name}.cluster-abc123.eu-west-1.rds.amazonaws.com`,
    port: 5432,
    region: 'eu-west-1',
    dbname: name.replace(/-/g, '_'),
    roleArn: ROLE_DB,
    externalId: EXTERNAL_ID,
    sslmode: 'verify-full',
    labels,
    levels: { ro: { dbUser: `${name.replace(/-/g, '_')}_ro`, roleArn: ROLE_RO }, rw: { dbUser: `${name.replace(/-/g, '_')}_rw`, roleArn: ROLE_RW } },
  };
}

t.test('admin apply, changes, export', async (t) => {
  const h = await startHarness(t);
  const iss = h.issuer.issuer;
  const doc = {
    databases: [database('orders-prod', { env: 'prod' }), database('billing-prod', { env: 'prod' }), database('orders-dev', { env: 'dev' })],
    mappings: [
      { name: 'payments-ro', principal: { issuer: iss, group: 'payments' }, selector: { env: 'prod' }, levels: ['ro'], owner: 'payments' },
      { name: 'orders-app', principal: { issuer: iss, subject: 'orders-app' }, database: 'orders-prod', levels: ['rw', 'ro'] },
      { name: 'break-glass', principal: { issuer: iss, subject: 'oncall' }, database: 'billing-prod', levels: ['rw'], requireReason: true, expiresAt: '2099-01-01T00:00:00Z' },
    ],
  };

  t.test('apply creates everything and reports who gains what', async (t) => {
    const res = await post(h, '/v1/admin/apply', { document: doc });
    t.equal(res.statusCode, 200, res.body);
    const plan = res.json();
    t.equal(plan.dryRun, false);
    t.same(plan.changes.map((c: { action: string; kind: string; name: string }) => `${c.action} ${c.kind} ${c.name}`), [
      'create database orders-prod', 'create database billing-prod', 'create database orders-dev',
      'create mapping payments-ro', 'create mapping orders-app', 'create mapping break-glass',
    ]);
    t.equal(plan.unchanged, 0);
    const gains = plan.impact.gains.map((g: { principal: { subject?: string; group?: string }; database: string; level: string }) => `${g.principal.subject ?? `group:${g.principal.group}`} ${g.database}/${g.level}`).sort();
    t.same(gains, ['group:payments billing-prod/ro', 'group:payments orders-prod/ro', 'oncall billing-prod/rw', 'orders-app orders-prod/ro', 'orders-app orders-prod/rw']);
    t.same(plan.impact.losses, []);
    t.equal((await h.grant(await h.token('pat', ['payments']), { database: 'billing-prod', access: 'ro' })).statusCode, 200, 'enforced at once');
    t.equal((await h.auditRows("event_type LIKE 'mapping.created'")).length, 3, 'each change is an audit event');
  });

  t.test('applying the same document again changes nothing', async (t) => {
    const plan = (await post(h, '/v1/admin/apply', { document: doc })).json();
    t.same(plan.changes, []);
    t.equal(plan.unchanged, 6);
    t.same(plan.impact.gains, []);
    t.equal((await h.auditRows("event_type LIKE 'mapping.%' OR event_type LIKE 'database.%'")).length, 6, 'no new audit events');
  });

  t.test('export gives the document back; applying the export changes nothing', async (t) => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/admin/export', headers: { authorization: `Bearer ${await h.adminToken()}` } });
    t.equal(res.statusCode, 200);
    const exported = res.json();
    t.same(exported.databases.map((d: { name: string }) => d.name), ['billing-prod', 'orders-dev', 'orders-prod']);
    t.same(exported.mappings.map((m: { name: string }) => m.name), ['break-glass', 'orders-app', 'payments-ro']);
    t.notOk('id' in exported.mappings[0] || 'version' in exported.mappings[0], 'no ids or versions in a declaration');
    t.same((await post(h, '/v1/admin/apply', { document: exported })).json().changes, []);
  });

  t.test('a dry-run lists changes, gains and losses (incl. callers seen in the audit log) and changes nothing', async (t) => {
    const changed = {
      databases: doc.databases,
      mappings: [{ ...doc.mappings[0], selector: { env: 'dev' } }, doc.mappings[1]],
    };
    const res = await post(h, '/v1/admin/apply', { document: changed, prune: true, dryRun: true });
    t.equal(res.statusCode, 200, res.body);
    const plan = res.json();
    t.equal(plan.dryRun, true);
    t.same(plan.changes.map((c: { action: string; name: string }) => `${c.action} ${c.name}`), ['delete break-glass', 'update payments-ro']);
    const fmt = (d: { principal: { subject?: string; group?: string }; seenInAuditLog: boolean; database: string; level: string }) =>
      `${d.principal.subject ?? `group:${d.principal.group}`}${d.seenInAuditLog ? '*' : ''} ${d.database}/${d.level}`;
    t.same(plan.impact.gains.map(fmt).sort(), ['group:payments orders-dev/ro', 'pat* orders-dev/ro']);
    t.same(plan.impact.losses.map(fmt).sort(), ['group:payments billing-prod/ro', 'group:payments orders-prod/ro', 'oncall billing-prod/rw', 'pat* billing-prod/ro', 'pat* orders-prod/ro']);
    t.ok(plan.impact.principalsCompared >= 4);
    t.equal((await post(h, '/v1/admin/apply', { document: doc })).json().changes.length, 0, 'nothing was changed');
    t.equal((await h.grant(await h.token('pat', ['payments']), { database: 'billing-prod', access: 'ro' })).statusCode, 200);
  });

  t.test('prune deletes what the document no longer declares', async (t) => {
    const res = await post(h, '/v1/admin/apply', { document: { databases: doc.databases.slice(0, 2), mappings: doc.mappings.slice(0, 2) }, prune: true });
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json().changes.map((c: { action: string; name: string }) => `${c.action} ${c.name}`), ['delete break-glass', 'delete orders-dev']);
    t.equal((await h.grant(await h.token('oncall'), { database: 'billing-prod', access: 'rw', reason: 'x' })).statusCode, 403);
  });

  t.test('bad documents are refused whole, with the field at fault, and nothing half-applied', async (t) => {
    const cases: Array<[string, object, string]> = [
      ['duplicate mapping names', { mappings: [doc.mappings[1], doc.mappings[1]] }, 'body.document.mappings.1.name'],
      ['unknown key', { mappings: [{ ...doc.mappings[1], colour: 'blue' }] }, 'body.document.mappings.0'],
      ['level not defined', { mappings: [{ ...doc.mappings[1], name: 'x', principal: { issuer: iss, subject: 'x' }, levels: ['monitor'] }] }, 'body.document.mappings.0.levels'],
      ['ARN of another partition', { databases: [{ ...database('cn-db'), roleArn: 'arn:aws-cn:iam::123456789012:role/x' }] }, 'body.document.databases.0.roleArn'],
      ['selector matching nothing', { mappings: [{ ...doc.mappings[0], name: 'y', selector: { env: 'nowhere' } }] }, 'body.document.mappings.0.selector'],
    ];
    for (const [name, document, field] of cases) {
      const res = await post(h, '/v1/admin/apply', { document });
      t.equal(res.statusCode, 400, `${name}: ${res.body}`);
      t.ok(res.json().errors?.some((e: { field: string }) => e.field.startsWith(field)), `${name} points at ${field}: ${JSON.stringify(res.json().errors)}`);
    }
    // The third mapping is bad: the first two (and the new database) must not stay behind.
    const half = await post(h, '/v1/admin/apply', {
      document: { databases: [database('new-db')], mappings: [{ ...doc.mappings[1], name: 'fine-1', principal: { issuer: iss, subject: 'a' } }, { ...doc.mappings[1], name: 'fine-2', principal: { issuer: iss, subject: 'b' } }, { ...doc.mappings[1], name: 'bad', database: 'missing' }] },
    });
    t.equal(half.statusCode, 400);
    const listed = await h.app.inject({ method: 'GET', url: '/v1/databases/new-db', headers: { authorization: `Bearer ${await h.adminToken()}` } });
    t.equal(listed.statusCode, 404, 'nothing half-applied');
  });

  t.test('every semantic problem of a document comes back in one answer, each at its document path', async (t) => {
    const orders = doc.mappings[1] as { name: string; principal: object; database: string; levels: string[] };
    const badDb = { ...database('bad-db'), roleArn: 'arn:aws-cn:iam::123456789012:role/x' };
    const document = {
      databases: [badDb, database('bad-db')],
      mappings: [
        { ...orders, name: 'm-unknown-db', principal: { issuer: iss, subject: 'a' }, database: 'missing' },
        { ...doc.mappings[0], name: 'm-nothing-selected', selector: { env: 'nowhere' } },
        { ...orders, name: 'm-no-such-level', principal: { issuer: iss, subject: 'b' }, levels: ['monitor'] },
        { ...orders, name: 'm-window', principal: { issuer: iss, subject: 'c' }, notBefore: '2099-06-01T00:00:00Z', expiresAt: '2099-01-01T00:00:00Z' },
        { ...orders, name: 'm-overlap', levels: ['ro'] },
        { ...orders, name: 'm-issuer', principal: { issuer: 'https://elsewhere.example', subject: 'd' } },
      ],
    };
    for (const dryRun of [false, true]) {
      const res = await post(h, '/v1/admin/apply', { document, dryRun });
      t.equal(res.statusCode, 400, res.body);
      const body = res.json();
      t.equal(body.code, 'validation_failed');
      t.same(body.errors.map((e: { field: string }) => e.field).sort(), [
        'body.document.databases.0.roleArn',
        'body.document.databases.1.name',
        'body.document.mappings.0.database',
        'body.document.mappings.1.selector',
        'body.document.mappings.2.levels',
        'body.document.mappings.3.notBefore',
        'body.document.mappings.4.levels',
        'body.document.mappings.5.principal.issuer',
      ], `dryRun=${dryRun}: ${res.body}`);
      t.match(body.errors.find((e: { field: string }) => e.field === 'body.document.mappings.4.levels').message, /overlaps mapping "orders-app"/);
    }
    const listed = await h.app.inject({ method: 'GET', url: '/v1/databases/bad-db', headers: { authorization: `Bearer ${await h.adminToken()}` } });
    t.equal(listed.statusCode, 404, 'nothing applied');
  });

  t.test('conflicts with the store come back together as a 409, each at its document path', async (t) => {
    const roOnly = (name: string) => {
      const d = database(name, { env: 'prod' });
      return { ...d, levels: { ro: d.levels.ro } };
    };
    const billingApp = { name: 'billing-app', principal: { issuer: iss, subject: 'billing-app' }, database: 'billing-prod', levels: ['ro'] };
    // orders-app still grants rw, which orders-prod would lose; prune would delete billing-prod, which billing-app names.
    const res = await post(h, '/v1/admin/apply', { document: { databases: [roOnly('orders-prod')], mappings: [doc.mappings[0], doc.mappings[1], billingApp] }, prune: true, dryRun: true });
    t.equal(res.statusCode, 409, res.body);
    t.equal(res.json().code, 'conflict');
    t.same(res.json().errors.map((e: { field: string }) => e.field).sort(), ['body.document.mappings.1.levels', 'body.document.mappings.2.database'], res.body);
    // A mapping the document does not declare: the conflict is placed on the database's levels.
    const undeclared = await post(h, '/v1/admin/apply', { document: { databases: [roOnly('orders-prod')] } });
    t.equal(undeclared.statusCode, 409, undeclared.body);
    t.same(undeclared.json().errors, [{ field: 'body.document.databases.0.levels', message: 'would no longer define rw, which mapping "orders-app" still grants; change that mapping first' }]);
    t.equal((await h.grant(await h.token('orders-app'), { database: 'orders-prod', access: 'rw' })).statusCode, 200, 'nothing applied');
  });

  t.test('the list of problems is capped', async (t) => {
    const mappings = Array.from({ length: 130 }, (_, i) => ({ ...doc.mappings[1], name: `m-${i}`, principal: { issuer: iss, subject: `s-${i}` }, database: 'missing' }));
    const res = await post(h, '/v1/admin/apply', { document: { mappings }, dryRun: true });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors.length, 100);
    t.match(res.json().detail, /^the document has more than 100 problems/);
  });

  t.test('changes: put and delete in one transaction; ifVersion guards against lost updates', async (t) => {
    const put = { action: 'put', mapping: { name: 'reporting', principal: { issuer: iss, group: 'analysts' }, database: 'orders-prod', levels: ['ro'] } };
    const res = await post(h, '/v1/admin/changes', { operations: [put, { action: 'delete', mapping: 'orders-app' }], dryRun: true });
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json().changes.map((c: { action: string; name: string }) => `${c.action} ${c.name}`), ['create reporting', 'delete orders-app']);
    const applied = await post(h, '/v1/admin/changes', { operations: [put] });
    t.same(applied.json().changes, [{ kind: 'mapping', name: 'reporting', action: 'create' }]);
    const stale = await post(h, '/v1/admin/changes', { operations: [{ ...put, mapping: { ...put.mapping, levels: ['ro', 'rw'] }, ifVersion: 9 }] });
    t.equal(stale.statusCode, 412, stale.body);
    const missing = await post(h, '/v1/admin/changes', { operations: [{ action: 'delete', mapping: 'no-such' }] });
    t.equal(missing.statusCode, 404);
  });

  t.test('only admins', async (t) => {
    for (const url of ['/v1/admin/apply', '/v1/admin/changes']) {
      const res = await post(h, url, { document: {} }, await h.token('orders-app'));
      t.equal(res.statusCode, 403, url);
    }
  });
});
