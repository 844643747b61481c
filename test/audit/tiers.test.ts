import t from 'tap';
import { parse } from 'yaml';
import { renderOpenApi } from '../../scripts/openapi-document.js';
import { ADMIN_SUBJECT, AUDITOR_SUBJECT, startHarness } from '../support/harness.js';

const h = await startHarness(t);
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
// Even a mapping naming the auditor must not let them mint.
const auditorMapping = await h.map(AUDITOR_SUBJECT, 'orders', ['ro']);

const AUDIT_ROUTES: { method: 'GET' | 'POST'; url: string; payload?: object }[] = [
  { method: 'GET', url: '/v1/audit/events' },
  { method: 'GET', url: '/v1/audit/holders?database=orders&dbUser=orders_ro&at=2026-01-01T00:00:00Z' },
  { method: 'POST', url: '/v1/audit/lookup', payload: { accessKeyId: 'ASIA0000000000000000' } },
  { method: 'GET', url: '/v1/audit/export' },
];

const call = async (route: (typeof AUDIT_ROUTES)[number], subject?: string) =>
  h.app.inject({ ...route, headers: subject ? { authorization: `Bearer ${await h.token(subject)}` } : {} });

t.test('auditor routes: auditors yes; admins, apps and anonymous callers no', async (t) => {
  for (const route of AUDIT_ROUTES) {
    t.equal((await call(route, AUDITOR_SUBJECT)).statusCode, 200, `auditor: ${route.method} ${route.url}`);
    for (const subject of [ADMIN_SUBJECT, 'app-orders']) {
      const res = await call(route, subject);
      t.equal(res.statusCode, 403, `${subject}: ${route.method} ${route.url}`);
      t.equal(res.json().code, 'forbidden');
    }
    const anonymous = await call(route);
    t.equal(anonymous.statusCode, 401);
    t.equal(anonymous.json().code, 'unauthenticated');
  }
});

t.test('auditors cannot mint credentials, whatever the mappings say, and the refusal is audited', async (t) => {
  const res = await h.grant(await h.token(AUDITOR_SUBJECT), { database: 'orders', access: 'ro', reason: 'just looking' });
  t.equal(res.statusCode, 403);
  t.equal(res.json().code, 'forbidden');
  t.notOk('token' in res.json());
  const [row] = await h.auditRows('request_id = $1', [res.json().requestId]);
  t.match(row, { event_type: 'credential.denied', outcome: 'denied', reason: 'auditor_cannot_mint', rule: 'auth.auditors', actor_subject: AUDITOR_SUBJECT, database_name: 'orders', caller_reason: 'just looking', token_fingerprint: null });
  t.equal(h.sts.assumeRoleCalls, 0, 'no role was even assumed');
  t.equal((await h.grant(await h.token('app-orders'), { database: 'orders', access: 'ro' })).statusCode, 200, 'apps still can');
});

t.test('auditors cannot change mappings or databases', async (t) => {
  const headers = { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` };
  for (const [method, url] of [['POST', '/v1/mappings'], ['DELETE', `/v1/mappings/${auditorMapping}`], ['POST', '/v1/databases'], ['GET', '/v1/mappings']] as const) {
    const res = await h.app.inject({ method, url, headers, payload: method === 'POST' ? {} : undefined });
    t.equal(res.statusCode, 403, `${method} ${url}`);
    t.equal(res.json().code, 'forbidden');
  }
});

t.test('nobody can change the log through the API: no route writes it', async (t) => {
  const before = await h.auditRows();
  for (const subject of [ADMIN_SUBJECT, AUDITOR_SUBJECT, 'app-orders']) {
    const headers = { authorization: `Bearer ${await h.token(subject)}` };
    for (const method of ['DELETE', 'PUT', 'PATCH', 'POST'] as const) {
      for (const url of ['/v1/audit/events', `/v1/audit/events/${before[0]?.id}`, '/v1/audit']) {
        const res = await h.app.inject({ method, url, headers, payload: {} });
        // 404 where nothing is routed, 405 where only reads are (its Allow lists no write).
        t.ok([404, 405].includes(res.statusCode), `${subject}: ${method} ${url}`, { found: res.statusCode });
        t.notMatch(String(res.headers.allow ?? ''), /POST|PUT|PATCH|DELETE/, 'no write method is allowed');
      }
    }
  }
  t.same(await h.auditRows(), before, 'the log is as it was');

  const doc = parse(await renderOpenApi()) as { paths: Record<string, Record<string, unknown>> };
  const auditPaths = Object.entries(doc.paths).filter(([path]) => path.startsWith('/v1/audit'));
  t.ok(auditPaths.length >= 4);
  for (const [path, operations] of auditPaths) {
    for (const method of Object.keys(operations)) t.notOk(['put', 'patch', 'delete'].includes(method), `${method.toUpperCase()} ${path} is not a writing method`);
  }
});
