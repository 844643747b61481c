import t from 'tap';
import type { ProblemCode } from '../../src/http/problem.js';
import { ROLE_DB, startHarness } from '../support/harness.js';

// Invariant 4: bad input gets a clear 4xx problem+json with a stable code — never a 500, never a crash.

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url?: string;
  /** Sent as JSON by inject; a function gets the trusted issuer (known only once the harness runs). */
  body?: unknown | ((issuer: string) => unknown);
  /** Sent verbatim, with `contentType` (default application/json; null: no content-type header). */
  raw?: string;
  contentType?: string | null;
  as?: 'caller' | 'admin';
  status: number | number[];
  code: ProblemCode | ProblemCode[];
}

const grant = { database: 'orders', access: 'ro' };
const GRANT_JSON = JSON.stringify(grant);
const MIB = 1024 * 1024;
// Exactly one byte over the 1 MiB body limit, and otherwise a valid request.
const prefix = '{"database":"orders","access":"ro","reason":"';
const OVERSIZED = `${prefix}${'x'.repeat(MIB + 1 - prefix.length - 2)}"}`;

const database = (over: Record<string, unknown> = {}) => ({
  name: 'billing',
  host: 'billing.cluster-abc123.us-east-1.rds.amazonaws.com',
  port: 5432,
  region: 'us-east-1',
  dbname: 'billing',
  roleArn: ROLE_DB,
  levels: { ro: { dbUser: 'billing_ro' }, rw: { dbUser: 'billing_rw' } },
  ...over,
});
const mapping = (over: Record<string, unknown> = {}) => (issuer: string) => ({
  principal: { issuer, subject: 'app-billing' },
  database: 'orders',
  levels: ['ro'],
  ...over,
});

const V: Pick<Case, 'status' | 'code'> = { status: 400, code: 'validation_failed' };
const JSON_ERR: Pick<Case, 'status' | 'code'> = { status: 400, code: 'invalid_json' };

const credentialCases: Case[] = [
  { name: 'no body at all', ...V },
  { name: 'empty body declared as JSON', raw: '', ...JSON_ERR },
  { name: 'empty object', body: {}, ...V },
  { name: 'missing database', body: { access: 'ro' }, ...V },
  { name: 'missing access', body: { database: 'orders' }, ...V },
  { name: 'typo "acess" instead of access', body: { database: 'orders', acess: 'ro' }, ...V },
  { name: 'unknown field next to valid ones is not ignored', body: { ...grant, acess: 'rw' }, ...V },
  { name: 'access is a number', body: { database: 'orders', access: 1 }, ...V },
  { name: 'database is a boolean', body: { database: true, access: 'ro' }, ...V },
  { name: 'reason is an array', body: { ...grant, reason: [] }, ...V },
  { name: 'access is an array', body: { database: 'orders', access: ['ro'] }, ...V },
  { name: 'unknown level "admin"', body: { database: 'orders', access: 'admin' }, ...V },
  { name: 'level in upper case', body: { database: 'orders', access: 'RO' }, ...V },
  { name: 'database name not a slug', body: { database: 'Orders_Prod', access: 'ro' }, ...V },
  { name: 'database name starting with a dash', body: { database: '-orders', access: 'ro' }, ...V },
  { name: 'database name with a trailing newline', body: { database: 'orders\n', access: 'ro' }, ...V },
  { name: 'database name with a Cyrillic look-alike', body: { database: 'оrders', access: 'ro' }, ...V },
  { name: 'database name of 100 KB', body: { database: 'a'.repeat(100 * 1024), access: 'ro' }, ...V },
  { name: 'reason too long (501 chars)', body: { ...grant, reason: 'r'.repeat(501) }, ...V },
  { name: 'reason empty', body: { ...grant, reason: '' }, ...V },
  { name: 'null body', raw: 'null', ...V },
  { name: 'database null', body: { database: null, access: 'ro' }, ...V },
  { name: 'access null', body: { database: 'orders', access: null }, ...V },
  { name: 'nested object where a string is expected', body: { database: { name: 'orders' }, access: 'ro' }, ...V },
  { name: 'JSON array body', raw: `[${GRANT_JSON}]`, ...V },
  { name: 'JSON string body', raw: '"orders"', ...V },
  { name: 'invalid JSON', raw: '{"database": "orders",', ...JSON_ERR },
  { name: 'single-quoted pseudo JSON', raw: "{'database':'orders','access':'ro'}", ...JSON_ERR },
  { name: '__proto__ key', raw: '{"__proto__":{"isAdmin":true},"database":"orders","access":"ro"}', ...JSON_ERR },
  { name: 'constructor.prototype key', raw: '{"constructor":{"prototype":{"isAdmin":true}},"database":"orders","access":"ro"}', ...JSON_ERR },
  { name: 'body of 1 MiB + 1 byte', raw: OVERSIZED, status: 413, code: 'body_too_large' },
  { name: 'text/plain content-type', raw: GRANT_JSON, contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  { name: 'application/xml content-type', raw: '<grant/>', contentType: 'application/xml', status: 415, code: 'unsupported_media_type' },
  { name: 'form-encoded body', raw: 'database=orders&access=ro', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
  { name: 'a body without content-type', raw: GRANT_JSON, contentType: null, status: 415, code: 'unsupported_media_type' },
].map((c) => ({ method: 'POST', url: '/v1/credentials', as: 'caller', ...c }) as Case);

const databaseCases: Case[] = [
  { name: 'role ARN malformed', body: database({ roleArn: 'arn:aws:iam::1234:role/x' }), ...V },
  { name: 'role ARN not a role', body: database({ roleArn: 'arn:aws:iam::123456789012:user/x' }), ...V },
  { name: 'aws ARN with a China region', body: database({ region: 'cn-north-1' }), ...V },
  { name: 'level ARN in aws-us-gov with a us-east-1 region', body: database({ levels: { ro: { dbUser: 'b_ro', roleArn: 'arn:aws-us-gov:iam::123456789012:role/r' } } }), ...V },
  { name: 'ExternalId of 1 char', body: database({ externalId: 'x' }), ...V },
  { name: 'host with a scheme', body: database({ host: 'https://x' }), ...V },
  { name: 'host with a port', body: database({ host: 'x:5432' }), ...V },
  { name: 'host with a path', body: database({ host: 'x.example.com/db' }), ...V },
  { name: 'port 0', body: database({ port: 0 }), ...V },
  { name: 'port 70000', body: database({ port: 70000 }), ...V },
  { name: 'port as a numeric string (bodies are not coerced)', body: database({ port: '5432' }), ...V },
  { name: 'port 5432.5', body: database({ port: 5432.5 }), ...V },
  { name: 'region moon-1', body: database({ region: 'moon-1' }), ...V },
  { name: 'DB user Bad-User', body: database({ levels: { ro: { dbUser: 'Bad-User' } } }), ...V },
  { name: 'DB user pg_foo (reserved)', body: database({ levels: { ro: { dbUser: 'pg_foo' } } }), ...V },
  { name: 'same DB user on two levels', body: database({ levels: { ro: { dbUser: 'billing' }, rw: { dbUser: 'billing' } } }), ...V },
  { name: 'no levels', body: database({ levels: {} }), ...V },
  { name: 'unknown level key admin', body: database({ levels: { admin: { dbUser: 'billing_admin' } } }), ...V },
  { name: 'database name not a slug', body: database({ name: 'Billing DB' }), ...V },
  { name: 'unknown top-level field', body: database({ passwrd: 'hunter2' }), ...V },
].map((c) => ({ method: 'POST', url: '/v1/databases', as: 'admin', ...c }) as Case);

const mappingCases: Case[] = [
  { name: 'unknown database', body: mapping({ database: 'nope' }), ...V },
  { name: 'level not defined on the database', body: mapping({ database: 'ledger', levels: ['rw'] }), ...V },
  { name: 'issuer not configured', body: (iss: string) => ({ ...mapping()(iss), principal: { issuer: 'https://evil.example', subject: 'x' } }), ...V },
  { name: 'expiresAt in the past', body: mapping({ expiresAt: '2000-01-01T00:00:00Z' }), ...V },
  { name: 'expiresAt not a date-time', body: mapping({ expiresAt: 'tomorrow' }), ...V },
  { name: 'principal with neither subject nor group', body: (iss: string) => ({ ...mapping()(iss), principal: { issuer: iss } }), ...V },
  { name: 'principal with both subject and group', body: (iss: string) => ({ ...mapping()(iss), principal: { issuer: iss, subject: 's', group: 'g' } }), ...V },
  { name: 'no levels', body: mapping({ levels: [] }), ...V },
  { name: 'duplicate levels', body: mapping({ levels: ['ro', 'ro'] }), ...V },
].map((c) => ({ method: 'POST', url: '/v1/mappings', as: 'admin', ...c }) as Case);

const routeCases: Case[] = [
  { name: 'mapping ref neither an id nor a name', method: 'GET', url: '/v1/mappings/Not_A_Name', as: 'admin', ...V },
  { name: 'database name in path not a slug', method: 'GET', url: '/v1/databases/Not_A_Slug', as: 'admin', ...V },
  { name: 'unknown route', method: 'GET', url: '/v1/nope', as: 'caller', status: 404, code: 'not_found' },
  { name: 'wrong method on /v1/credentials', method: 'DELETE', url: '/v1/credentials', as: 'caller', status: [404, 405], code: ['not_found', 'method_not_allowed'] },
];

t.test('bad input gets a documented 4xx problem+json, never a 500', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.registerOrders({ name: 'ledger', levels: { ro: { dbUser: 'ledger_ro' } } });
  await h.map('app-orders', 'orders', ['ro']);
  const tokens = { caller: await h.token('app-orders'), admin: await h.adminToken() };
  const requestIds: string[] = [];

  const send = (c: Case) => {
    const headers: Record<string, string> = { authorization: `Bearer ${tokens[c.as ?? 'caller']}` };
    const body = typeof c.body === 'function' ? c.body(h.issuer.issuer) : c.body;
    if (c.raw !== undefined && c.contentType !== null) headers['content-type'] = c.contentType ?? 'application/json';
    const payload = c.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (c.raw === undefined && body !== undefined) headers['content-type'] = 'application/json';
    return h.app.inject({ method: c.method ?? 'POST', url: c.url ?? '/v1/credentials', headers, ...(payload === undefined ? {} : { payload }) });
  };

  const cases = [...credentialCases, ...databaseCases, ...mappingCases, ...routeCases];
  t.ok(cases.length >= 30, `${cases.length} cases`);
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const res = await send(c);
      const statuses = ([] as number[]).concat(c.status);
      const codes = ([] as string[]).concat(c.code);
      t.ok(statuses.includes(res.statusCode), `status ${statuses.join(' or ')}`, { found: res.statusCode, body: res.body.slice(0, 300) });
      t.not(res.statusCode, 500, 'never 500');
      t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json');
      const problem = res.json();
      t.ok(codes.includes(problem.code), `code ${codes.join(' or ')}`, { found: problem.code });
      t.equal(problem.status, res.statusCode, 'body status matches the HTTP status');
      t.equal(problem.type, `urn:dab:problem:${problem.code}`, 'stable type URN');
      t.notOk(res.body.includes(tokens[c.as ?? 'caller']), 'the bearer token is not echoed');
      requestIds.push(problem.requestId);
    });
  }

  // The bodies differ from valid ones only by their defect: the valid twins are accepted.
  t.equal((await send({ name: 'valid grant', body: grant, status: 200, code: [] })).statusCode, 200, 'valid grant');
  t.equal((await send({ name: 'valid database', url: '/v1/databases', as: 'admin', body: database(), status: 201, code: [] })).statusCode, 201, 'valid database');
  t.equal((await send({ name: 'valid mapping', url: '/v1/mappings', as: 'admin', body: mapping(), status: 201, code: [] })).statusCode, 201, 'valid mapping');

  const refused = await h.auditRows("event_type LIKE 'credential.%' AND reason <> 'invalid_input' AND request_id = ANY($1)", [requestIds]);
  t.same(refused, [], 'no credential audit row (issued or otherwise) for a refused request');
  // A control character on the grant path is the exception: that refusal is an audited denial (text-safety).
  const controls = await h.auditRows("reason = 'invalid_input' AND request_id = ANY($1)", [requestIds]);
  t.same(controls.map((r) => r.database_name), ['orders\\u000a'], 'only the trailing-newline case is an audited invalid_input denial');
  t.equal((await h.auditRows("event_type = 'credential.issued'")).length, 1, 'only the valid twin was issued');

  const entries = h.logs.map((line) => JSON.parse(line) as { level: number; status?: number; msg?: string });
  const completed = entries.filter((e) => e.msg === 'request' && e.status !== undefined); // the access lines
  t.ok(completed.length >= cases.length, 'responses were logged');
  t.same(completed.filter((e) => (e.status ?? 0) >= 500), [], 'no 5xx in the logs');
  t.same(entries.filter((e) => e.level >= 50), [], 'no error-level log line');
});
