import net from 'node:net';
import t from 'tap';
import { loadConfig } from '../../src/config/load-config.js';
import { ACCOUNT, ADMIN_SUBJECT, EXTERNAL_ID, ROLE_DB, ROLE_RO, ROLE_RW, startHarness } from '../support/harness.js';

const BROKER = 'arn:aws:iam::999988887777:role/dab-broker';
const RESOURCE_ID = 'db-ABCDEFGHIJKLMN0123456789';
const h = await startHarness(t, { config: (c) => Object.assign(c.sts, { brokerRoleArn: BROKER }) });
const admin = { authorization: `Bearer ${await h.adminToken()}` };
await h.registerOrders({ resourceId: RESOURCE_ID });

/** A port nothing listens on: a login there is refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const LOCAL = { host: '127.0.0.1', port: await closedPort(), sslmode: 'require' };

const bootstrap = (name: string, query = '', headers: Record<string, string> = admin) =>
  h.app.inject({ method: 'GET', url: `/v1/databases/${name}/bootstrap${query}`, headers });
const check = (name: string, payload?: unknown, headers: Record<string, string> = admin) =>
  h.app.inject({ method: 'POST', url: `/v1/databases/${name}/check`, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
/** Every secret STS handed out so far: none may appear in an answer, an audit row or a log line. */
const stsSecrets = () => h.sts.issuedSessions.flatMap((s) => [s.secretAccessKey, s.sessionToken]);

t.test('bootstrap: the SQL and, per role, its trust and permission policies', async (t) => {
  const res = await bootstrap('orders', '?schema=public&schema=sales');
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.same(Object.keys(body).sort(), ['database', 'engine', 'roles', 'sql', 'warnings']);
  t.equal(body.engine, 'postgres', 'a registration from before engines is PostgreSQL');
  t.equal(body.database, 'orders');
  t.same(body.warnings, [], 'broker and resource id are known, the ExternalId is registered');
  t.match(body.sql, /GRANT USAGE ON SCHEMA "sales" TO "orders_ro_role";/);
  t.match(body.sql, /GRANT rds_iam TO "orders_monitor";/);
  t.same(body.roles.map((r: { roleArn: string; levels: string[] }) => [r.roleArn, r.levels]), [[ROLE_RO, ['ro']], [ROLE_RW, ['rw']], [ROLE_DB, ['monitor']]]);
  const ro = body.roles[0];
  t.same(ro.trustPolicy.Statement, [
    { Sid: 'DabAssumeRole', Effect: 'Allow', Principal: { AWS: BROKER }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } } },
    { Sid: 'DabSetSourceIdentity', Effect: 'Allow', Principal: { AWS: BROKER }, Action: 'sts:SetSourceIdentity' },
  ]);
  t.same(ro.permissionPolicy, { Version: '2012-10-17', Statement: [{ Sid: 'DabRdsConnect', Effect: 'Allow', Action: 'rds-db:connect', Resource: [`arn:aws:rds-db:us-east-1:${ACCOUNT}:dbuser:${RESOURCE_ID}/orders_ro`] }] });
  t.same(Object.keys(ro.sizes), ['trustPolicy', 'permissionPolicy']);
  t.ok(ro.sizes.trustPolicy > 100 && ro.sizes.trustPolicy < 2048);
  t.same(ro.warnings, []);

  const plain = (await bootstrap('orders')).json();
  t.match(plain.sql, /Schemas granted on: "public"\n/, 'default schema: public');
  t.match((await bootstrap('orders', '?schema=sales&schema=sales')).json().sql, /Schemas granted on: "sales"\n/, 'duplicates collapse');
  t.match((await bootstrap('orders', `?schema=${encodeURIComponent('we"ird; --')}`)).json().sql, /ON SCHEMA "we""ird; --" TO/);
});

t.test('bootstrap: placeholders come with warnings', async (t) => {
  await h.registerOrders({ name: 'bare', resourceId: undefined, externalId: undefined, levels: { ro: { dbUser: 'bare_ro' }, rw: { dbUser: 'bare_rw' } } });
  const body = (await bootstrap('bare')).json();
  t.match(body.warnings, [/set resourceId/, /no externalId/]);
  t.equal(body.roles.length, 1);
  t.match(body.roles[0].permissionPolicy.Statement[0].Resource, [/:dbuser:RESOURCE_ID\/bare_ro$/, /:dbuser:RESOURCE_ID\/bare_rw$/]);
  t.match(body.roles[0].warnings, [/serves levels ro, rw/]);
  t.notOk(body.roles[0].trustPolicy.Statement[0].Condition);
});

t.test('bootstrap: bad input and unknown databases', async (t) => {
  const missing = await bootstrap('nope');
  t.equal(missing.statusCode, 404);
  t.match(missing.json(), { code: 'not_found', detail: 'no database named "nope"' });
  t.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  for (const query of ['?schema=', `?schema=${'x'.repeat(64)}`, `?schema=${'é'.repeat(32)}`, '?other=1', '?schema=a%00b']) {
    const res = await bootstrap('orders', query);
    t.equal(res.statusCode, 400, query);
    t.equal(res.json().code, 'validation_failed', query);
  }
});

t.test('both endpoints are for admins only', async (t) => {
  const app = { authorization: `Bearer ${await h.token('app-orders')}` };
  t.equal((await bootstrap('orders', '', {})).statusCode, 401);
  t.equal((await bootstrap('orders', '', app)).statusCode, 403);
  t.equal((await check('orders', {}, {})).statusCode, 401);
  t.equal((await check('orders', {}, app)).statusCode, 403);
  t.equal((await check('nope', {})).statusCode, 404);
});

t.test('check: every level assumes its role and mints a token; nothing secret comes back', async (t) => {
  const before = h.sts.issuedSessions.length;
  const res = await check('orders', { login: false });
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.match(body, { database: 'orders', ok: true });
  t.same(body.levels.map((l: { level: string; dbUser: string; roleArn: string }) => [l.level, l.dbUser, l.roleArn]), [['ro', 'orders_ro', ROLE_RO], ['rw', 'orders_rw', ROLE_RW], ['monitor', 'orders_monitor', ROLE_DB]]);
  for (const level of body.levels) {
    t.same(level.steps.map((s: { step: string; status: string }) => [s.step, s.status]), [['assume_role', 'ok'], ['mint_token', 'ok']], `${level.level}: no login step`);
  }
  t.match(body.levels[0].steps[0].message, `assumed ${ROLE_RO} as session dab.${ADMIN_SUBJECT}, SourceIdentity ${ADMIN_SUBJECT}`);

  const sessions = h.sts.issuedSessions.slice(before);
  t.equal(sessions.length, 3, 'one real AssumeRole per level (uncached)');
  for (const s of sessions) {
    t.equal(s.expiration.getTime() - s.issuedAt.getTime(), 900_000, 'DurationSeconds 900');
    t.equal(s.externalId, EXTERNAL_ID);
    t.equal(s.sourceIdentity, ADMIN_SUBJECT);
  }
  for (const secret of [...stsSecrets(), EXTERNAL_ID, 'X-Amz-Signature', 'X-Amz-Security-Token']) t.notOk(res.body.includes(secret), 'no secret in the answer');

  const rows = await h.auditRows("event_type = 'database.checked'");
  const row = rows[rows.length - 1]!;
  t.match(row, { event_type: 'database.checked', outcome: 'succeeded', database_name: 'orders', actor_subject: ADMIN_SUBJECT, request_id: res.headers['x-request-id'] });
  t.same((row.details as { levels: unknown }).levels, body.levels, 'the step results are in the audit row');
  for (const secret of [...stsSecrets(), EXTERNAL_ID, 'X-Amz-Signature']) {
    t.notOk(JSON.stringify(rows).includes(secret), 'no secret in the audit row');
    t.notOk(h.logs.join('\n').includes(secret), 'no secret in the logs');
  }
});

t.test('check: a database dab cannot reach is skipped, not failed', async (t) => {
  await h.registerOrders({ name: 'local', ...LOCAL });
  const res = await check('local');
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.equal(body.ok, true);
  for (const level of body.levels) {
    t.same(level.steps.map((s: { status: string }) => s.status), ['ok', 'ok', 'skipped']);
    t.match(level.steps[2], { step: 'login', message: /^not reachable from dab: ECONNREFUSED connecting to 127\.0\.0\.1:\d+/ });
  }
  t.equal((await check('local', {})).json().levels[0].steps.length, 3, 'login defaults to true');
});

t.test('check: a trust policy without sts:SetSourceIdentity fails with what to add', async (t) => {
  const legacy = `arn:aws:iam::${ACCOUNT}:role/legacy-trust`;
  h.sts.addRole({ arn: legacy, externalId: EXTERNAL_ID, allowSourceIdentity: false });
  await h.registerOrders({ name: 'legacy', roleArn: legacy, levels: { ro: { dbUser: 'legacy_ro' } } });
  const body = (await check('legacy', { login: false })).json();
  t.equal(body.ok, false);
  t.same(body.levels[0].steps.map((s: { status: string }) => s.status), ['failed', 'skipped']);
  t.match(body.levels[0].steps[0].message, `the trust policy of ${legacy} lacks sts:SetSourceIdentity for dab's principal ${BROKER}`);
  t.match(body.levels[0].steps[1].message, 'not tried: assume_role did not succeed');
  const rows = await h.auditRows("event_type = 'database.checked' AND database_name = 'legacy'");
  t.match(rows, [{ outcome: 'failed', reason: 'preflight_failed' }]);
  t.same((rows[0]!.details as { failed: string[] }).failed, ['ro.assume_role']);
});

t.test('check: a wrong ExternalId fails without the ExternalId being shown', async (t) => {
  const wrong = 'not-the-registered-external-id';
  await h.registerOrders({ name: 'wrongext', externalId: wrong, levels: { ro: { dbUser: 'w_ro', roleArn: ROLE_RO } } });
  const res = await check('wrongext', { login: true });
  const body = res.json();
  t.equal(body.ok, false);
  t.same(body.levels[0].steps.map((s: { status: string }) => s.status), ['failed', 'skipped', 'skipped']);
  t.match(body.levels[0].steps[0].message, new RegExp(`^STS refused AssumeRole on ${ROLE_RO}: its trust policy must name dab's principal ${BROKER} and require exactly the ExternalId registered`));
  t.notOk(res.body.includes(wrong) || res.body.includes(EXTERNAL_ID));
  t.notOk(JSON.stringify(await h.auditRows("database_name = 'wrongext' AND event_type = 'database.checked'")).includes(wrong));
});

t.test('check: STS throttling says to retry later', async (t) => {
  h.sts.injectFault('throttle', Infinity);
  t.teardown(() => h.sts.clearFaults());
  const body = (await check('orders', { login: false })).json();
  t.equal(body.ok, false);
  t.match(body.levels[0].steps[0].message, /^STS was unavailable or throttling \(Throttling\): .*retry later$/);
});

t.test('check: the body is validated strictly', async (t) => {
  for (const payload of [{ login: 'no' }, { login: true, extra: 1 }, []]) {
    const res = await check('orders', payload);
    t.equal(res.statusCode, 400, JSON.stringify(payload));
  }
});

t.test('config: sts.brokerRoleArn from DAB_BROKER_ROLE_ARN, and only a role ARN', async (t) => {
  const env = { DAB_ISSUERS: JSON.stringify([{ issuer: 'https://idp', audience: 'dab' }]), DAB_AUDIT_FINGERPRINT_KEY: 'ab'.repeat(32) };
  t.equal(loadConfig({ ...env, DAB_BROKER_ROLE_ARN: BROKER }).sts.brokerRoleArn, BROKER);
  t.equal(loadConfig(env).sts.brokerRoleArn, undefined);
  t.throws(() => loadConfig({ ...env, DAB_BROKER_ROLE_ARN: 'arn:aws:iam::999988887777:user/dab' }), /config sts\.brokerRoleArn: must match pattern/);
});
