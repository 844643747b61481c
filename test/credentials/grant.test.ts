import t from 'tap';
import { parseRdsAuthToken, verifyRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { createAssumeRole, type AssumeRole } from '../../src/aws/sts-client.js';
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
  const early = parsed!.signedAt.getTime() + 900_000 - Date.parse(grant.expiresAt);
  t.ok(early === 0 || early === 1000, `expiresAt is the X-Amz-Date + 900 s: never later, at most a second early (${early} ms)`);
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

t.test('a token never claims to outlive the credentials that signed it', async (t) => {
  // STS may hand back a session shorter than asked for; dab then reports the session's end.
  let assume: AssumeRole | undefined;
  const h = await startHarness(t, {
    deps: { assumeRole: async (input) => ({ ...(await assume!(input)), expiration: new Date(Date.now() + 600_000) }) },
  });
  const aws = createAssumeRole(h.config.sts, h.sts.baseCredentials);
  t.teardown(() => aws.destroy());
  assume = aws.assumeRole;
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const res = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' });
  t.equal(res.statusCode, 200, res.body);
  const expiresAt = Date.parse(res.json().expiresAt);
  const signedAt = parseRdsAuthToken(res.json().token)!.signedAt.getTime();
  t.ok(expiresAt < signedAt + 900_000, 'earlier than the X-Amz-Date + 900 s');
  t.ok(Math.abs(expiresAt - (Date.now() + 600_000)) < 5_000, 'the session expiry');
  const [row] = await h.auditRows("event_type = 'credential.issued'");
  t.equal(new Date(row!.expires_at as string).getTime(), expiresAt, 'the audit row records the same expiry');
});

t.test('a signing failure is audited and answered 500 without internals', async (t) => {
  const h = await startHarness(t, { deps: { signToken: async () => Promise.reject(new Error('signer exploded: secret detail')) } });
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const res = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' });
  t.equal(res.statusCode, 500);
  t.equal(res.json().code, 'internal');
  t.notMatch(res.body, /exploded|secret detail/);
  const rows = await h.auditRows("event_type LIKE 'credential.%'");
  t.match(rows, [{ event_type: 'credential.failed', outcome: 'failed', reason: 'sign_failed', db_user: 'orders_ro', role_arn: ROLE_RO, token_fingerprint: null }]);
  t.equal(rows.length, 1, 'exactly one row for the outcome');
});

t.test('within one signing second a caller gets the token rds-signer would mint again; other callers never share it', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('group:apps', 'orders', ['ro']);
  const alice = await h.token('alice', ['apps']);
  const bob = await h.token('bob', ['apps']);
  const ask = async (bearer: string) => (await h.grant(bearer, { database: 'orders', access: 'ro' })).json();
  // Retried when a second boundary falls between the two requests (then the tokens rightly differ).
  for (let attempt = 0; attempt < 5; attempt++) {
    const [a1, a2, b1] = [await ask(alice), await ask(alice), await ask(bob)];
    const signed = [a1, a2, b1].map((g) => parseRdsAuthToken(g.token)!.signedAt.getTime());
    if (new Set(signed).size !== 1) continue;
    t.equal(a2.token, a1.token, "alice's second grant in the same second carries the same token");
    t.not(a2.grantId, a1.grantId, 'but is a grant of its own');
    t.not(b1.token, a1.token, "bob's token is his own (his own STS session)");
    const rows = await h.auditRows("event_type = 'credential.issued' AND event_id = ANY($1)", [[a1.grantId, a2.grantId, b1.grantId]]);
    t.equal(rows.length, 3, 'each grant has its row');
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    t.equal(byId.get(a1.grantId)!.token_fingerprint, byId.get(a2.grantId)!.token_fingerprint, 'a lookup of the token finds both of alice\'s grants');
    t.not(byId.get(b1.grantId)!.token_fingerprint, byId.get(a1.grantId)!.token_fingerprint);
    t.match((await h.app.inject('/metrics')).body, /^dab_rds_tokens_total\{source="reused"\} [1-9]/m, 'the reuse is counted');
    return;
  }
  t.fail('five attempts all straddled a second boundary');
});
