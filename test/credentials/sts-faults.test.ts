import t from 'tap';
import type { StsFault } from '../../src/sandbox/sts-emulator.js';
import { EXTERNAL_ID, ROLE_RO, startHarness } from '../support/harness.js';

// Each STS fault: the caller's answer, the audit reason, how many AssumeRole attempts it may cost
// (transient faults: exactly sts.maxAttempts; a refusal or a broken answer: one), and that the
// whole thing is bounded in time.
const CASES: Array<{ fault: StsFault; status: number; code: string; reason: string; retryAfter: boolean; retried: boolean }> = [
  { fault: 'access_denied', status: 502, code: 'sts_access_denied', reason: 'sts_access_denied', retryAfter: false, retried: false },
  { fault: 'throttle', status: 503, code: 'sts_unavailable', reason: 'sts_throttled', retryAfter: true, retried: true },
  { fault: 'server_error', status: 503, code: 'sts_unavailable', reason: 'sts_unavailable', retryAfter: true, retried: true },
  { fault: 'hang', status: 503, code: 'sts_unavailable', reason: 'sts_unavailable', retryAfter: true, retried: true },
  { fault: 'malformed', status: 502, code: 'sts_error', reason: 'sts_bad_response', retryAfter: false, retried: false },
];

t.test('STS faults fail closed, bounded in time, with a useful status, and are audited', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const bearer = await h.token('app-orders');

  for (const c of CASES) {
    h.sts.clearFaults();
    h.sts.injectFault(c.fault, Infinity);
    const callsBefore = h.sts.assumeRoleCalls;
    const started = Date.now();
    const res = await h.grant(bearer, { database: 'orders', access: 'ro' });
    const elapsed = Date.now() - started;
    const attempts = h.sts.assumeRoleCalls - callsBefore;
    t.equal(attempts, c.retried ? h.config.sts.maxAttempts : 1, `${c.fault}: ${attempts} AssumeRole attempt(s)`);
    t.equal(res.statusCode, c.status, `${c.fault}: status`);
    const body = res.json();
    t.equal(body.code, c.code, `${c.fault}: code`);
    t.equal(Boolean(res.headers['retry-after']), c.retryAfter, `${c.fault}: Retry-After`);
    t.ok(elapsed < h.config.sts.deadlineMs + 1000, `${c.fault}: answered within the deadline (${elapsed} ms)`);
    t.notOk(res.body.includes(EXTERNAL_ID), `${c.fault}: the ExternalId is never shown`);
    t.notOk('token' in body);
    const [row] = await h.auditRows('request_id = $1', [body.requestId]);
    t.match(row, { event_type: 'credential.failed', outcome: 'failed', reason: c.reason, role_arn: ROLE_RO, db_user: 'orders_ro', token_fingerprint: null });
    t.notOk(JSON.stringify(row).includes(EXTERNAL_ID), `${c.fault}: no ExternalId in the audit row`);
  }
  t.notOk(h.logs.join('\n').includes(EXTERNAL_ID), 'no ExternalId in the logs');
  const denied = await h.app.inject({ method: 'POST', url: '/v1/credentials', payload: { database: 'orders', access: 'ro' }, headers: { authorization: `Bearer ${bearer}` } });
  t.match(denied.json().detail, ROLE_RO, 'a setup problem names the role to fix');
});

t.test('a transient STS fault is retried within bounds and then succeeds', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  h.sts.injectFault('throttle', 1);
  const res = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(h.sts.assumeRoleCalls, 2, 'one throttled attempt, one retry');
  const metrics = (await h.app.inject('/metrics')).body;
  t.match(metrics, /dab_sts_assume_role_total\{result="ok"\} 1/);
  t.match(metrics, /dab_grants_total\{outcome="issued",level="ro",reason="mapping_allows"\} 1/);
});

t.test('a wrong ExternalId registered for a database is an STS AccessDenied, reported as a setup problem', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders({ externalId: 'not-the-right-one' });
  await h.map('app-orders', 'orders', ['ro']);
  const res = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' });
  t.equal(res.statusCode, 502);
  t.equal(res.json().code, 'sts_access_denied');
  t.notOk(res.body.includes('not-the-right-one'));
});
