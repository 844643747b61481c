// One access line per request: who asked for what and how it ended, never a secret; probes quiet at info.
import tap from 'tap';
import { parseRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { startHarness, type Harness } from '../support/harness.js';

type Line = Record<string, any>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INFO = 30;
const DEBUG = 20;

/** Every log line written for one request (pino's child logger stamps reqId on each). */
const linesOf = (h: Harness, requestId: unknown): Line[] => h.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.reqId === requestId);

tap.test('a grant, a denial and a 401 each write exactly one access line; no secret is in it', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);

  const bearer = await h.token('app-orders');
  const granted = await h.grant(bearer, { database: 'orders', access: 'ro' });
  t.equal(granted.statusCode, 200, granted.body);
  const grant = granted.json();
  const grantLines = linesOf(h, granted.headers['x-request-id']);
  t.equal(grantLines.length, 1, 'one line for the whole request (no incoming request / request completed pair)');
  t.match(grantLines[0], {
    level: INFO, msg: 'request', method: 'POST', path: '/v1/credentials', route: '/v1/credentials', status: 200,
    caller: { issuer: h.issuer.issuer, subject: 'app-orders' }, database: 'orders', access: 'ro',
    outcome: 'issued', grantId: grant.grantId, ms: Number,
  });
  t.equal(grantLines[0]!.level, INFO);
  t.equal(grantLines[0]!.grantId, grant.grantId, 'the grant id the caller got, which is the audit event id');
  t.equal((await h.auditRows("event_id = $1 AND outcome = 'issued'", [grant.grantId])).length, 1);
  t.ok(grantLines[0]!.ms >= 0, 'latency in ms');
  t.notOk('code' in grantLines[0]!, 'no error code on a success');

  const denied = await h.grant(await h.token('app-stranger'), { database: 'orders', access: 'rw', reason: 'INC-1' });
  t.equal(denied.statusCode, 403, denied.body);
  const [denial, ...more] = linesOf(h, denied.headers['x-request-id']);
  t.equal(more.length, 0, 'one line');
  t.match(denial, { level: INFO, status: 403, caller: { subject: 'app-stranger' }, database: 'orders', access: 'rw', outcome: 'denied', code: 'access_denied', grantId: UUID });
  const [row] = await h.auditRows("outcome = 'denied'");
  t.equal(denial!.grantId, row!.event_id, 'the denial\'s audit event id');

  for (const [what, headers, reason] of [
    ['no bearer', {}, /bearer token is required/],
    ['not a JWT', { authorization: 'Bearer aaa.bbb.ccc' }, /not a JWT/],
  ] as const) {
    const res = await h.app.inject({ method: 'POST', url: '/v1/credentials?debug=1', payload: { database: 'orders', access: 'ro' }, headers });
    t.equal(res.statusCode, 401, what);
    const lines = linesOf(h, res.headers['x-request-id']);
    t.equal(lines.length, 1, `${what}: one line`);
    t.match(lines[0], { level: INFO, status: 401, code: 'unauthenticated', reason, path: '/v1/credentials' }, `${what}: the 401 and why`);
    t.notOk('caller' in lines[0]! || 'outcome' in lines[0]! || 'grantId' in lines[0]!, `${what}: no caller, no grant`);
  }

  // Secrets: the bearer JWT, the RDS token, and the STS session's keys appear in no line.
  const parsed = parseRdsAuthToken(grant.token)!;
  const sts = h.sts.lookupCredentials(parsed.accessKeyId)!;
  const secrets = { bearer, token: grant.token, signature: parsed.signature, sessionToken: sts.sessionToken!, secretAccessKey: sts.secretAccessKey };
  const logged = h.logs.join('\n');
  for (const [name, value] of Object.entries(secrets)) t.notOk(logged.includes(value), `${name} is not in the logs`);
  t.notOk(logged.includes('debug=1'), 'no query string');
});

tap.test('probes are quiet at info and visible at debug', async (t) => {
  for (const logLevel of ['info', 'debug'] as const) {
    t.test(logLevel, async (t) => {
      const h = await startHarness(t, { config: (c) => { c.logLevel = logLevel; } });
      for (const url of ['/healthz', '/readyz', '/metrics']) {
        const res = await h.app.inject({ method: 'GET', url });
        t.equal(res.statusCode, 200, url);
        const lines = linesOf(h, res.headers['x-request-id']);
        if (logLevel === 'info') t.same(lines, [], `${url}: no line at info`);
        else t.match(lines, [{ level: DEBUG, msg: 'request', route: url, status: 200 }], `${url}: one debug line`);
      }
      const other = await h.app.inject({ method: 'GET', url: '/nope' });
      t.match(linesOf(h, other.headers['x-request-id']), [{ level: INFO, status: 404, route: null, path: '/nope' }], 'a non-probe request still logs at info');
    });
  }
});
