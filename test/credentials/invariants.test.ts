import t from 'tap';
import { signToken as signNow, type SignToken } from '../../src/aws/token-signer.js';
import { parseRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { EXTERNAL_ID, ROLE_DB, ROLE_RW, startHarness, type Harness } from '../support/harness.js';

/** Remembers every token dab minted, so a test can prove where it did and did not go. */
function recordingSigner(): { signToken: SignToken; minted: string[] } {
  const minted: string[] = [];
  return {
    minted,
    signToken: async (request) => {
      const token = await signNow(request);
      minted.push(token);
      return token;
    },
  };
}

async function everything(h: Harness): Promise<string> {
  return JSON.stringify(await h.auditRows()) + h.logs.join('\n');
}

t.test('invariant 1: when the audit write fails, the caller gets 503 and the token is gone', async (t) => {
  const signer = recordingSigner();
  const h = await startHarness(t, { deps: { signToken: signer.signToken } });
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  // A real database-side failure of the audit INSERT (not a mocked function).
  await h.store.exec(`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$;
    CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit();`);

  const res = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().code, 'audit_unavailable');
  t.ok(res.headers['retry-after']);
  t.equal(signer.minted.length, 1, 'a token was minted before the audit write');
  const token = signer.minted[0] as string;
  t.notOk(res.body.includes(token), 'not in the response');
  t.notOk(h.logs.join('\n').includes(token), 'not in the logs');
  t.notOk(res.body.includes('disk full'), 'no internals in the error body');
  t.equal((await h.auditRows()).filter((r) => r.event_type === 'credential.issued').length, 0);
});

t.test('invariant 2: every denial is recorded with its reason and rule, and all look alike to the caller', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.registerOrders({ name: 'billing', levels: { ro: { dbUser: 'billing_ro' } } });
  const roOnly = await h.map('app-orders', 'orders', ['ro']);
  const expiring = await h.map('app-temp', 'orders', ['rw'], { expiresAt: new Date(Date.now() + 60_000).toISOString() });
  h.clock.offsetMs = 120_000;

  const cases = [
    { who: 'app-orders', database: 'nope', access: 'ro', reason: 'unknown_database', rule: null },
    { who: 'app-orders', database: 'billing', access: 'rw', reason: 'level_not_defined', rule: null },
    { who: 'app-orders', database: 'billing', access: 'ro', reason: 'no_mapping', rule: null },
    { who: 'app-orders', database: 'orders', access: 'rw', reason: 'level_not_granted', rule: roOnly },
    { who: 'app-temp', database: 'orders', access: 'rw', reason: 'mapping_expired', rule: expiring },
  ];
  const bodies = new Set<string>();
  for (const c of cases) {
    const res = await h.grant(await h.token(c.who), { database: c.database, access: c.access, reason: 'why not' });
    t.equal(res.statusCode, 403, c.reason);
    const { requestId, ...rest } = res.json();
    t.equal(rest.code, 'access_denied');
    bodies.add(JSON.stringify(rest));
    const [row] = await h.auditRows('request_id = $1', [requestId]);
    t.match(row, { event_type: 'credential.denied', outcome: 'denied', reason: c.reason, rule: c.rule, actor_subject: c.who, database_name: c.database, caller_reason: 'why not' }, c.reason);
  }
  t.equal(bodies.size, 1, 'unknown database and missing mapping are indistinguishable');
});

t.test('concurrent misses for one (role, ExternalId, caller) make exactly one AssumeRole', async (t) => {
  // Counting calls: a slow machine must not turn one call into a timed-out call plus its retry.
  const h = await startHarness(t, { config: (c) => Object.assign(c.sts, { requestTimeoutMs: 10_000, deadlineMs: 20_000 }) });
  await h.registerOrders();
  await h.map('group:payments', 'orders', ['ro', 'rw']);
  const alice = await h.token('alice', ['payments']);
  const bob = await h.token('bob', ['payments']);
  const results = await Promise.all([
    ...Array.from({ length: 20 }, () => h.grant(alice, { database: 'orders', access: 'ro' })),
    ...Array.from({ length: 5 }, () => h.grant(bob, { database: 'orders', access: 'ro' })),
  ]);
  t.same(new Set(results.map((r) => r.statusCode)), new Set([200]));
  t.equal(h.sts.assumeRoleCalls, 2, 'one per caller, not one per request');
  const names = h.sts.issuedSessions.map((s) => s.sourceIdentity).sort();
  t.same(names, ['alice', 'bob'], 'SourceIdentity names the caller for CloudTrail');
  t.ok(h.sts.issuedSessions.every((s) => s.roleSessionName.startsWith('dab.')));

  const rw = await h.grant(alice, { database: 'orders', access: 'rw' });
  t.equal(h.sts.findSession(parseRdsAuthToken(rw.json().token)!.accessKeyId)?.roleArn, ROLE_RW, "rw uses the rw level's own role");
  t.equal(h.sts.assumeRoleCalls, 3);
  const rows = await h.auditRows("event_type = 'credential.issued'");
  t.equal(rows.length, 26, 'one audit row per grant');
  t.equal(new Set(rows.map((r) => r.event_id)).size, 26);
});

t.test('a session is refreshed before a token signed with it could outlive it', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['monitor']);
  const token = await h.token('app-orders');
  const grant = async () => {
    const res = await h.grant(token, { database: 'orders', access: 'monitor' });
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.equal(h.sts.findSession(parseRdsAuthToken(body.token)!.accessKeyId)?.roleArn, ROLE_DB, 'monitor falls back to the database role');
    const life = Date.parse(body.expiresAt) - h.clock.now().getTime();
    t.ok(life > 895_000 && life <= 900_000, `token lives its full 15 minutes from its signing second (${life} ms)`);
    const parsed = parseRdsAuthToken(body.token)!;
    const sessionLeft = h.sts.findSession(parsed.accessKeyId)!.expiration.getTime() - h.clock.now().getTime();
    const needed = (900 + h.config.sts.refreshMarginSeconds) * 1000;
    t.ok(sessionLeft >= needed, `the signing session outlives a 15-minute token plus the margin (${sessionLeft} ms left)`);
    return body;
  };
  await grant();
  const { sessionDurationSeconds, refreshMarginSeconds } = h.config.sts;
  // Just before the refresh point: still the cached session.
  h.clock.offsetMs = (sessionDurationSeconds - 900 - refreshMarginSeconds - 5) * 1000;
  await grant();
  t.equal(h.sts.assumeRoleCalls, 1);
  // Past it: replaced, so the new token can still live 15 minutes.
  h.clock.offsetMs = (sessionDurationSeconds - 900 - refreshMarginSeconds + 5) * 1000;
  await grant();
  t.equal(h.sts.assumeRoleCalls, 2);
});

t.test('invariant 3: no secret in logs, audit rows, metrics or error bodies', async (t) => {
  const signer = recordingSigner();
  const h = await startHarness(t, { deps: { signToken: signer.signToken } });
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const bearer = await h.token('app-orders');
  const ok = await h.grant(bearer, { database: 'orders', access: 'ro' });
  t.equal(ok.statusCode, 200);
  const denied = await h.grant(bearer, { database: 'orders', access: 'rw' });
  t.equal(denied.statusCode, 403);
  h.sts.injectFault('access_denied', Infinity);
  const other = await h.grant(await h.token('app-orders', ['x']), { database: 'orders', access: 'ro' });
  t.equal(other.statusCode, 200, 'cached session still serves');
  const metrics = (await h.app.inject('/metrics')).body;

  const secrets = [bearer, ...signer.minted, EXTERNAL_ID, ...h.sts.issuedSessions.flatMap((s) => [s.secretAccessKey, s.sessionToken]), h.sts.baseCredentials.secretAccessKey];
  const haystack = (await everything(h)) + metrics + denied.body;
  for (const secret of secrets) t.notOk(haystack.includes(secret), `secret ${secret.slice(0, 6)}… appears nowhere`);
  const [issued] = await h.auditRows("event_type = 'credential.issued'");
  t.match(issued?.token_fingerprint, /^hmac-sha256:[0-9a-f]{64}$/, 'only a keyed fingerprint of the token is kept');
});

t.test('invariant 6: the audit table refuses UPDATE, DELETE and TRUNCATE', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  const before = await h.auditRows();
  t.equal(before.length, 1);
  for (const sql of ['UPDATE audit_events SET reason = $1', 'DELETE FROM audit_events WHERE reason <> $1', 'TRUNCATE audit_events']) {
    const params = sql.includes('$1') ? ['tampered'] : [];
    await t.rejects(h.store.query(sql, params), /append-only/, sql.split(' ')[0] ?? sql);
  }
  t.same(await h.auditRows(), before, 'history unchanged');
});
