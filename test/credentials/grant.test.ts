import t from 'tap';
import { parseRdsAuthToken, verifyRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { EXTERNAL_ID, ROLE_RO, startHarness } from '../support/harness.js';

t.test('a mapped caller gets a working 15-minute token, audited before it leaves', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  const mappingId = await h.map('app-orders', 'orders', ['ro']);
  const res = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro', reason: 'nightly report' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers['cache-control'], 'no-store');
  const grant = res.json();
  t.match(grant, { user: 'orders_ro', host: 'orders.cluster-abc123.us-east-1.rds.amazonaws.com', port: 5432, dbname: 'orders', region: 'us-east-1', sslmode: 'verify-full' });

  const parsed = parseRdsAuthToken(grant.token);
  t.ok(parsed, 'token parses');
  t.equal(parsed?.service, 'rds-db');
  t.equal(parsed?.expiresSeconds, 900);
  const session = h.sts.findSession(parsed!.accessKeyId);
  t.equal(session?.roleArn, ROLE_RO, 'signed with the level role session');
  t.equal(session?.externalId, EXTERNAL_ID);
  const verified = verifyRdsAuthToken(grant.token, { host: grant.host, port: 5432, user: 'orders_ro', region: 'us-east-1' }, h.sts.lookupCredentials, { now: new Date() });
  t.same(verified.ok, true, JSON.stringify(verified));

  const rows = await h.auditRows("event_type = 'credential.issued'");
  t.equal(rows.length, 1);
  t.match(rows[0], { event_id: grant.grantId, outcome: 'issued', rule: mappingId, db_user: 'orders_ro', caller_reason: 'nightly report', access_key_id: parsed!.accessKeyId });
  t.notOk(JSON.stringify(rows).includes(grant.token), 'no token in the audit row');
});
