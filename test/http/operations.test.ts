import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import tap from 'tap';
import { buildApp } from '../../src/app.js';
import type { AssumeRole } from '../../src/aws/sts-client.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startOidcIssuer, type OidcIssuer } from '../../src/sandbox/oidc-issuer.js';
import { createEmbeddedStore } from '../../src/store/embedded-store.js';
import { createPostgresStore } from '../../src/store/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { startHarness } from '../support/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertProblem(t: Pick<typeof tap, 'equal' | 'match'>, res: LightMyRequestResponse, status: number, code: string): void {
  t.equal(res.statusCode, status, res.body);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.match(res.json(), { status, code, type: `urn:dab:problem:${code}`, requestId: res.headers['x-request-id'] });
}

tap.test('health, readiness, metrics and request ids on a working dab', async (t) => {
  const h = await startHarness(t);

  const healthz = await h.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(healthz.statusCode, 200);
  t.same(healthz.json(), { status: 'ok' });

  const readyz = await h.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(readyz.statusCode, 200, readyz.body);
  t.same(readyz.json(), { status: 'ready' });

  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const grant = await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' });
  t.equal(grant.statusCode, 200, grant.body);

  const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain/);
  const text = metrics.body;
  for (const name of ['dab_grants_total', 'dab_sts_assume_role_total', 'dab_sts_session_cache_total', 'dab_rds_tokens_total', 'dab_audit_write_seconds', 'dab_http_request_duration_seconds']) {
    t.match(text, new RegExp(`^# TYPE ${name} (counter|histogram)$`, 'm'), `${name} is exposed`);
  }
  const samples: Array<[string, RegExp]> = [
    ['one grant counted as issued', /^dab_grants_total\{outcome="issued",level="ro",reason="mapping_allows"\} 1$/m],
    ['one successful AssumeRole', /^dab_sts_assume_role_total\{result="ok"\} 1$/m],
    ['one session cache miss', /^dab_sts_session_cache_total\{result="miss"\} 1$/m],
    ['one token signed', /^dab_rds_tokens_total\{source="signed"\} 1$/m],
    ['one audit write timed', /^dab_audit_write_seconds_count\{result="ok"\} 1$/m],
    ['the grant request timed by route', /^dab_http_request_duration_seconds_count\{method="POST",route="\/v1\/credentials",status="200"\} 1$/m],
  ];
  for (const [what, line] of samples) t.match(text, line, what);
  t.notMatch(text, /dab_grants_total\{outcome="denied"/, 'no denial counted');
  t.notOk(text.includes(grant.json().token), 'no token in metrics');

  // Every answer, from every tier and status, carries a fresh request id.
  const adminAuth = { authorization: `Bearer ${await h.adminToken()}` };
  const requests: Array<[string, InjectOptions]> = [
    ['healthz', { method: 'GET', url: '/healthz' }],
    ['readyz', { method: 'GET', url: '/readyz' }],
    ['metrics', { method: 'GET', url: '/metrics' }],
    ['admin list', { method: 'GET', url: '/v1/databases', headers: adminAuth }],
    ['no route', { method: 'GET', url: '/nope' }],
    ['no bearer', { method: 'POST', url: '/v1/credentials', payload: { database: 'orders', access: 'ro' } }],
    ['bad body', { method: 'POST', url: '/v1/databases', headers: adminAuth, payload: { name: 'X' } }],
    ['a request id sent by the client is not trusted', { method: 'GET', url: '/healthz', headers: { 'x-request-id': 'forged' } }],
  ];
  const seen = new Set<string>([String(grant.headers['x-request-id'])]);
  t.match(grant.headers['x-request-id'], UUID, 'grant carries a request id');
  for (const [name, opts] of requests) {
    const res = await h.app.inject(opts);
    const id = String(res.headers['x-request-id']);
    t.match(id, UUID, `${name} (${res.statusCode}) carries a request id`);
    t.notOk(seen.has(id), `${name}: request id is unique`);
    seen.add(id);
    if (res.statusCode >= 400) t.equal(res.json().requestId, id, `${name}: the problem body names the same id`);
  }
});

// A dab built by hand around a given store, as server.ts would, with its own issuer for callers.
async function handBuilt(t: { teardown(fn: () => unknown): void }, issuer: OidcIssuer, store: Store) {
  const config = parseConfig({
    logLevel: 'silent',
    auth: { issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl }] },
    audit: { fingerprintKey: randomBytes(32).toString('hex') },
  });
  const sts = { calls: 0 };
  const assumeRole: AssumeRole = async () => {
    sts.calls++;
    throw new Error('STS must not be reached in this test');
  };
  const app = await buildApp(config, { store, assumeRole });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await store.close();
  });
  return { app, sts };
}

tap.test('not ready, and fail closed, when the store is not there', async (t) => {
  const issuer = await startOidcIssuer();
  t.teardown(() => issuer.close());
  const bearer = await issuer.sign({ sub: 'app-orders' });

  t.test('an un-migrated store: /readyz is 503 not_ready, /healthz still 200', async (t) => {
    const { app } = await handBuilt(t, issuer, await createEmbeddedStore());
    const readyz = await app.inject({ method: 'GET', url: '/readyz' });
    assertProblem(t, readyz, 503, 'not_ready');
    t.match(readyz.json().detail, /migrations are not applied/);
    t.equal(readyz.headers['retry-after'], '5');
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive though not ready');
  });

  t.test('an unreachable store: grants are 503 store_unavailable with retry-after, never 500', async (t) => {
    const store = createPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/dab', poolMax: 2, connectionTimeoutMs: 1000, statementTimeoutMs: 1000, onPoolError: () => undefined });
    const { app, sts } = await handBuilt(t, issuer, store);
    const res = await app.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${bearer}` }, payload: { database: 'orders', access: 'ro' } });
    assertProblem(t, res, 503, 'store_unavailable');
    t.ok(Number(res.headers['retry-after']) > 0, `retry-after ${res.headers['retry-after']}`);
    t.notMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|postgres:/, 'no internals in the body');
    t.equal(sts.calls, 0, 'STS not called');

    const admin = await app.inject({ method: 'GET', url: '/v1/databases', headers: { authorization: `Bearer ${bearer}` } });
    t.equal(admin.statusCode, 403, 'tier check still comes first');

    const readyz = await app.inject({ method: 'GET', url: '/readyz' });
    assertProblem(t, readyz, 503, 'not_ready');
    t.match(readyz.json().detail, /unreachable/);
    t.ok(readyz.headers['retry-after'], 'readyz says when to retry');
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });
});

tap.test('the logger censors secrets even if some code path tries to log them', async (t) => {
  const h = await startHarness(t);
  const secrets = {
    bearer: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
    token: 'db.example.com:5432/?Action=connect&X-Amz-Signature=f00d',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN',
    externalId: 'external-id-never-logged',
  };
  // (A `req` object goes through Fastify's serializer, which keeps no headers at all.)
  h.app.log.warn({ headers: { authorization: secrets.bearer } }, 'a request');
  h.app.log.warn({ grant: { token: secrets.token }, credentials: { secretAccessKey: secrets.secretAccessKey, sessionToken: secrets.sessionToken } }, 'a grant');
  h.app.log.warn({ database: { externalId: secrets.externalId } }, 'a database');
  const lines = h.logs.map((line) => JSON.parse(line)).filter((line) => ['a request', 'a grant', 'a database'].includes(line.msg));
  t.same(lines.map((line) => line.msg), ['a request', 'a grant', 'a database'], 'the lines were written');
  t.match(lines, [
    { headers: { authorization: '[redacted]' } },
    { grant: { token: '[redacted]' }, credentials: { secretAccessKey: '[redacted]', sessionToken: '[redacted]' } },
    { database: { externalId: '[redacted]' } },
  ], 'each secret replaced by the censor');
  const logged = h.logs.join('\n');
  for (const [name, value] of Object.entries(secrets)) t.notOk(logged.includes(value), `${name} is not in the logs`);
});
