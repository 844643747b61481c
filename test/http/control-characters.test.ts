import t from 'tap';
import { escapeUnsafe, unsafeCharacter } from '../../src/http/text-safety.js';
import { AUDITOR_SUBJECT, ROLE_DB, startHarness } from '../support/harness.js';

// Invariant 4 for text the store cannot hold (U+0000) or that has no business in a name (other
// controls): one 400 naming the field, from every route and every input part, token claims included.
// On the grant path the refusal is also an audited denial, with the value escaped.

type As = 'caller' | 'admin' | 'auditor' | 'nulSubject' | 'nulGroup' | 'bellClaim';

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  as: As;
  body?: unknown | ((issuer: string) => unknown);
  headers?: Record<string, string>;
  /** The field the 400 must name. */
  field: string;
  /** The grant path also writes a credential.denied row for it. */
  audited?: boolean;
}

const NUL = '\u0000';
const grant = { database: 'orders', access: 'ro' };
const database = (over: Record<string, unknown> = {}) => ({
  name: 'billing',
  host: 'billing.cluster-abc123.us-east-1.rds.amazonaws.com',
  port: 5432,
  region: 'us-east-1',
  dbname: 'billing',
  roleArn: ROLE_DB,
  levels: { ro: { dbUser: 'billing_ro' } },
  ...over,
});
const mapping = (over: Record<string, unknown> = {}) => (issuer: string) => ({ principal: { issuer, subject: 'app-billing' }, database: 'orders', levels: ['ro'], ...over });
const checkpoint = { version: 1, seq: 1, sealHash: '0'.repeat(64), lastId: 1, at: '2026-01-01T00:00:00Z', keyId: '0'.repeat(16), signature: `${'A'.repeat(86)}==` };

const cases: Case[] = [
  // The grant path: body, headers and every stored claim of the token.
  { name: 'reason with U+0000', method: 'POST', url: '/v1/credentials', as: 'caller', body: { ...grant, reason: `ticket${NUL}42` }, field: 'body.reason', audited: true },
  { name: 'reason with ESC (terminal escape)', method: 'POST', url: '/v1/credentials', as: 'caller', body: { ...grant, reason: 'ok\u001b[2J' }, field: 'body.reason', audited: true },
  { name: 'reason with C1 CSI', method: 'POST', url: '/v1/credentials', as: 'caller', body: { ...grant, reason: 'ok\u009b2J' }, field: 'body.reason', audited: true },
  { name: 'reason with a lone surrogate', method: 'POST', url: '/v1/credentials', as: 'caller', body: { ...grant, reason: 'ok\ud800' }, field: 'body.reason', audited: true },
  { name: 'database with U+0000', method: 'POST', url: '/v1/credentials', as: 'caller', body: { ...grant, database: `orders${NUL}` }, field: 'body.database', audited: true },
  { name: 'unknown key with U+0000', method: 'POST', url: '/v1/credentials', as: 'caller', body: { ...grant, [`x${NUL}`]: 1 }, field: 'body.x\\u0000', audited: true },
  { name: 'user-agent with U+0000', method: 'POST', url: '/v1/credentials', as: 'caller', body: grant, headers: { 'user-agent': `curl${NUL}` }, field: 'headers.user-agent', audited: true },
  { name: 'token sub with U+0000', method: 'POST', url: '/v1/credentials', as: 'nulSubject', body: grant, field: 'token.sub', audited: true },
  { name: 'token group with U+0000', method: 'POST', url: '/v1/credentials', as: 'nulGroup', body: grant, field: 'token.groups.1', audited: true },
  { name: 'token claim (mappable) with BEL', method: 'POST', url: '/v1/credentials', as: 'bellClaim', body: grant, field: 'token.department', audited: true },
  { name: 'token sub with U+0000 on /v1/access/mine', method: 'GET', url: '/v1/access/mine', as: 'nulSubject', field: 'token.sub' },
  // Admin routes: bodies, path parameters, list filters.
  { name: 'database description with U+0000', method: 'POST', url: '/v1/databases', as: 'admin', body: database({ description: `a${NUL}b` }), field: 'body.description' },
  { name: 'database dbname with U+0000', method: 'POST', url: '/v1/databases', as: 'admin', body: database({ dbname: `billing${NUL}` }), field: 'body.dbname' },
  { name: 'database level key with U+0000', method: 'POST', url: '/v1/databases', as: 'admin', body: database({ levels: { [`ro${NUL}`]: { dbUser: 'b' } } }), field: 'body.levels.ro\\u0000' },
  { name: 'database name in path with %00', method: 'GET', url: '/v1/databases/orders%00', as: 'admin', field: 'params.name' },
  { name: 'PUT database with %00 in path', method: 'PUT', url: '/v1/databases/orders%00', as: 'admin', body: database(), field: 'params.name' },
  { name: 'DELETE mapping with %00 in path', method: 'DELETE', url: '/v1/mappings/x%00', as: 'admin', field: 'params.ref' },
  { name: 'mapping description with U+0000', method: 'POST', url: '/v1/mappings', as: 'admin', body: mapping({ description: `a${NUL}` }), field: 'body.description' },
  { name: 'mapping subject with U+0000', method: 'POST', url: '/v1/mappings', as: 'admin', body: (iss: string) => ({ ...mapping()(iss), principal: { issuer: iss, subject: `app${NUL}` } }), field: 'body.principal.subject' },
  { name: 'mapping owner with LF (an identifier)', method: 'POST', url: '/v1/mappings', as: 'admin', body: mapping({ owner: 'team\nx' }), field: 'body.owner' },
  { name: 'mapping list filter subject=%00', method: 'GET', url: '/v1/mappings?subject=a%00', as: 'admin', field: 'querystring.subject' },
  { name: 'mapping list filter owner=%1b', method: 'GET', url: '/v1/mappings?owner=a%1b', as: 'admin', field: 'querystring.owner' },
  { name: 'explain with a claim value holding U+0000', method: 'POST', url: '/v1/access/explain', as: 'admin', body: (iss: string) => ({ principal: { issuer: iss, subject: 's', claims: { dept: `x${NUL}` } }, database: 'orders', access: 'ro' }), field: 'body.principal.claims.dept' },
  { name: 'admin apply with U+0000 deep inside', method: 'POST', url: '/v1/admin/apply', as: 'admin', body: { databases: [database({ description: NUL })] }, field: 'body.databases.0.description' },
  { name: 'admin changes with U+0000', method: 'POST', url: '/v1/admin/changes', as: 'admin', body: { operations: [{ action: 'delete', database: `x${NUL}` }] }, field: 'body.operations.0.database' },
  { name: 'bootstrap schema=%00', method: 'GET', url: '/v1/databases/orders/bootstrap?schema=a%00', as: 'admin', field: 'querystring.schema' },
  // Auditor routes.
  { name: 'audit events eventType=%00', method: 'GET', url: '/v1/audit/events?eventType=a%00', as: 'auditor', field: 'querystring.eventType' },
  { name: 'audit events subject=%07', method: 'GET', url: '/v1/audit/events?subject=a%07', as: 'auditor', field: 'querystring.subject' },
  { name: 'audit export group=%00', method: 'GET', url: '/v1/audit/export?group=g%00', as: 'auditor', field: 'querystring.group' },
  { name: 'audit holders dbUser=%00', method: 'GET', url: '/v1/audit/holders?database=orders&dbUser=u%00&at=2026-01-01T00:00:00Z', as: 'auditor', field: 'querystring.dbUser' },
  { name: 'audit lookup token with U+0000', method: 'POST', url: '/v1/audit/lookup', as: 'auditor', body: { token: `x${NUL}` }, field: 'body.token' },
  { name: 'audit verify publicKeyPem with U+0000', method: 'POST', url: '/v1/audit/verify', as: 'auditor', body: { checkpoint, publicKeyPem: `-----BEGIN${NUL}` }, field: 'body.publicKeyPem' },
];

t.test('the rule, by kind of text', async (t) => {
  t.equal(unsafeCharacter('a\u0000b', 'identifier'), 'U+0000');
  t.equal(unsafeCharacter('a\u0000b', 'freeText'), 'U+0000', 'NUL is refused in free text too');
  t.equal(unsafeCharacter('line 1\nline 2\r\n\tindented', 'freeText'), undefined, 'free text may hold TAB, LF, CR');
  t.equal(unsafeCharacter('a\tb', 'identifier'), 'U+0009', 'identifiers may not');
  t.equal(unsafeCharacter('a\u007f', 'freeText'), 'U+007F');
  t.equal(unsafeCharacter('a\u0085', 'identifier'), 'U+0085');
  t.equal(unsafeCharacter('curl/8 \u00e2\u0080\u00a6', 'header'), undefined, 'C1 in a header is Latin-1 read of UTF-8');
  t.equal(unsafeCharacter('a\u0001', 'header'), 'U+0001');
  t.equal(unsafeCharacter('emoji 😀 and ünïcode', 'identifier'), undefined, 'a surrogate pair is fine');
  t.equal(unsafeCharacter('\udc00x', 'identifier'), 'U+DC00', 'a lone surrogate is not');
  t.equal(escapeUnsafe('a\u0000b\\u0000'), 'a\\u0000b\\\\u0000', 'escaped unambiguously');
  t.equal(escapeUnsafe('x'.repeat(600)).length, 512, 'bounded');
});

t.test('control characters are a 400 naming the field on every route and input part', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const sign = (claims: Record<string, unknown>) => h.issuer.sign({ sub: 'app-orders', groups: [], ...claims });
  const tokens: Record<As, string> = {
    caller: await h.token('app-orders'),
    admin: await h.adminToken(),
    auditor: await h.token(AUDITOR_SUBJECT),
    nulSubject: await sign({ sub: `app${NUL}orders` }),
    nulGroup: await sign({ groups: ['ok', `g${NUL}`] }),
    bellClaim: await sign({ department: 'ops\u0007' }),
  };

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const body = typeof c.body === 'function' ? c.body(h.issuer.issuer) : c.body;
      const res = await h.app.inject({
        method: c.method,
        url: c.url,
        headers: { authorization: `Bearer ${tokens[c.as]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...c.headers },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      t.equal(res.statusCode, 400, 'a 400', { body: res.body.slice(0, 300) });
      t.match(res.headers['content-type'], /^application\/problem\+json/);
      const problem = res.json();
      t.equal(problem.code, 'validation_failed');
      t.same(problem.errors?.map((e: { field: string }) => e.field), [c.field], 'names the field');
      t.match(problem.errors?.[0]?.message, /control characters \(found U\+[0-9A-F]{4}\)/);
      t.notOk(res.body.includes('\u0000'), 'the answer does not echo a NUL');
      const rows = await h.auditRows("event_type LIKE 'credential.%' AND request_id = $1", [problem.requestId]);
      if (c.audited) {
        t.equal(rows.length, 1, 'one audit row');
        const row = rows[0] as Record<string, any>;
        t.equal(row.event_type, 'credential.denied');
        t.equal(row.reason, 'invalid_input');
        t.equal(row.details?.field ?? JSON.parse(row.details).field, c.field, 'the row names the field');
        const stored = JSON.stringify(row);
        t.notOk(/\\u0000|\\u0007|\\u001b/.test(stored.replace(/\\\\u00/g, '')), 'no raw control character was stored');
      } else {
        t.same(rows, [], 'no credential row');
      }
    });
  }

  await t.test('stored values are escaped, not dropped', async (t) => {
    const res = await h.grant(tokens.nulSubject, { ...grant, reason: `ticket${NUL}42` }, { 'user-agent': 'ua' });
    t.equal(res.statusCode, 400);
    const [row] = (await h.auditRows('request_id = $1', [res.json().requestId])) as Record<string, any>[];
    t.equal(row?.actor_subject, 'app\\u0000orders', 'subject escaped');
    t.equal(row?.caller_reason, 'ticket\\u000042', 'reason escaped');
    t.equal(row?.database_name, 'orders');
  });

  await t.test('free text keeps its line breaks; the valid twins pass', async (t) => {
    const ok = await h.grant(tokens.caller, { ...grant, reason: 'INC-42\nrollback check' });
    t.equal(ok.statusCode, 200, 'a reason with LF is a grant');
    const db = await h.app.inject({ method: 'POST', url: '/v1/databases', headers: { authorization: `Bearer ${tokens.admin}` }, payload: database({ description: 'line 1\r\n\tline 2' }) });
    t.equal(db.statusCode, 201, 'a description with CR LF TAB is stored', { body: db.body });
    const mine = await h.app.inject({ method: 'GET', url: '/v1/access/mine', headers: { authorization: `Bearer ${tokens.caller}` } });
    t.equal(mine.statusCode, 200);
  });

  const completed = h.logs.map((l) => JSON.parse(l) as { level: number; res?: { statusCode?: number } });
  t.same(completed.filter((e) => (e.res?.statusCode ?? 0) >= 500), [], 'no 5xx');
  t.same(completed.filter((e) => e.level >= 50), [], 'no error-level log line');
});
