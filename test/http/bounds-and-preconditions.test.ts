import t from 'tap';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';

// Numbers out of range are a 400, never a bigint overflow in the store (500); If-Match uses the
// strong comparison (RFC 9110 §13.1.1): a weak tag never matches.

type As = 'admin' | 'auditor';
interface Case {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  as: As;
  body?: unknown;
  field: RegExp;
}

const TWO_63 = '9223372036854775808';
const checkpoint = (over: Record<string, unknown>) => ({
  checkpoint: { version: 1, seq: 1, sealHash: '0'.repeat(64), lastId: 1, at: '2026-01-01T00:00:00Z', keyId: '0'.repeat(16), signature: `${'A'.repeat(86)}==`, ...over },
  publicKeyPem: '-----BEGIN PUBLIC KEY-----',
});

const integerCases: Case[] = [
  { name: 'verify fromId = 2^63', method: 'GET', url: `/v1/audit/verify?fromId=${TWO_63}`, as: 'auditor', field: /fromId/ },
  { name: 'verify toId = 2^63 - 1 (beyond exact JS numbers)', method: 'GET', url: '/v1/audit/verify?toId=9223372036854775807', as: 'auditor', field: /toId/ },
  { name: 'verify fromId = 1e30', method: 'GET', url: '/v1/audit/verify?fromId=1e30', as: 'auditor', field: /fromId/ },
  { name: 'verify fromId = 0', method: 'GET', url: '/v1/audit/verify?fromId=0', as: 'auditor', field: /fromId/ },
  { name: 'verify fromId = -1', method: 'GET', url: '/v1/audit/verify?fromId=-1', as: 'auditor', field: /fromId/ },
  { name: 'verify fromId = 1.5', method: 'GET', url: '/v1/audit/verify?fromId=1.5', as: 'auditor', field: /fromId/ },
  { name: 'POST verify toId = 2^63', method: 'POST', url: '/v1/audit/verify', as: 'auditor', body: { ...checkpoint({}), toId: Number(TWO_63) }, field: /toId/ },
  { name: 'POST verify checkpoint.seq = 2^63', method: 'POST', url: '/v1/audit/verify', as: 'auditor', body: checkpoint({ seq: Number(TWO_63) }), field: /seq/ },
  { name: 'POST verify checkpoint.lastId = 1e300', method: 'POST', url: '/v1/audit/verify', as: 'auditor', body: checkpoint({ lastId: 1e300 }), field: /lastId/ },
  { name: 'events limit = 2^63', method: 'GET', url: `/v1/audit/events?limit=${TWO_63}`, as: 'auditor', field: /limit/ },
  { name: 'events limit = 1001', method: 'GET', url: '/v1/audit/events?limit=1001', as: 'auditor', field: /limit/ },
  { name: 'holders limit = 0', method: 'GET', url: '/v1/audit/holders?database=orders&dbUser=orders_ro&at=2026-01-01T00:00:00Z&limit=0', as: 'auditor', field: /limit/ },
  { name: 'admin changes ifVersion = 2^31', method: 'POST', url: '/v1/admin/changes', as: 'admin', body: { operations: [{ action: 'delete', database: 'orders', ifVersion: 2 ** 31 }] }, field: /ifVersion|operations/ },
  { name: 'admin changes ifVersion = 2^63', method: 'POST', url: '/v1/admin/changes', as: 'admin', body: { operations: [{ action: 'delete', database: 'orders', ifVersion: Number(TWO_63) }] }, field: /ifVersion|operations/ },
];

t.test('integers out of range are a 400', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  const tokens: Record<As, string> = { admin: await h.adminToken(), auditor: await h.token(AUDITOR_SUBJECT) };
  const send = (c: Pick<Case, 'method' | 'url' | 'as' | 'body'>) =>
    h.app.inject({ method: c.method, url: c.url, headers: { authorization: `Bearer ${tokens[c.as]}` }, ...(c.body === undefined ? {} : { payload: c.body as object }) });

  for (const c of integerCases) {
    await t.test(c.name, async (t) => {
      const res = await send(c);
      t.equal(res.statusCode, 400, 'a 400', { body: res.body.slice(0, 300) });
      t.match(res.headers['content-type'], /^application\/problem\+json/);
      t.equal(res.json().code, 'validation_failed');
      t.match(res.json().detail, c.field, 'names the field');
    });
  }
  t.equal((await send({ method: 'GET', url: `/v1/audit/verify?fromId=1&toId=${Number.MAX_SAFE_INTEGER}`, as: 'auditor' })).statusCode, 200, 'the largest exact id is accepted');
  const entries = h.logs.map((l) => JSON.parse(l) as { res?: { statusCode?: number } });
  t.same(entries.filter((e) => (e.res?.statusCode ?? 0) >= 500), [], 'no 5xx');
});

t.test('If-Match: strong comparison, one tag', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  const mappingId = await h.map('app-orders', 'orders', ['ro']);
  const authorization = `Bearer ${await h.adminToken()}`;
  const put = async (ifMatch: string) => {
    const current = (await h.app.inject({ method: 'GET', url: '/v1/databases/orders', headers: { authorization } })).json();
    const { version: _v, createdAt: _c, updatedAt: _u, name: _n, ...body } = current;
    return h.app.inject({ method: 'PUT', url: '/v1/databases/orders', headers: { authorization, 'if-match': ifMatch }, payload: { ...body, port: 6543 } });
  };
  const del = (ifMatch: string) => h.app.inject({ method: 'DELETE', url: `/v1/mappings/${mappingId}`, headers: { authorization, 'if-match': ifMatch } });
  const mappingExists = async () => (await h.app.inject({ method: 'GET', url: `/v1/mappings/${mappingId}`, headers: { authorization } })).statusCode === 200;

  const refused: Array<[string, string, number, string]> = [
    ['a weak tag of the current version', 'W/"1"', 412, 'precondition_failed'],
    ['a tag with a leading zero', '"01"', 412, 'precondition_failed'],
    ['a tag dab never wrote', '"abc"', 412, 'precondition_failed'],
    ['*', '*', 400, 'validation_failed'],
    ['a list naming the current version', '"1", "2"', 400, 'validation_failed'],
    ['a list of weak tags', 'W/"1",W/"2"', 400, 'validation_failed'],
    ['an unquoted version', '1', 400, 'validation_failed'],
    ['a lower-case weak prefix', 'w/"1"', 400, 'validation_failed'],
  ];
  for (const [name, ifMatch, status, code] of refused) {
    await t.test(name, async (t) => {
      const deleted = await del(ifMatch);
      t.equal(deleted.statusCode, status, `DELETE: ${status}`, { body: deleted.body });
      t.equal(deleted.json().code, code);
      t.ok(await mappingExists(), 'the mapping was not deleted');
      const replaced = await put(ifMatch);
      t.equal(replaced.statusCode, status, `PUT: ${status}`, { body: replaced.body });
      t.equal(replaced.json().code, code);
    });
  }
  const ok = await put('"1"');
  t.equal(ok.statusCode, 200, 'the strong tag as returned matches', { body: ok.body });
  t.equal(ok.headers.etag, '"2"');
  t.equal((await del(' "1" ')).statusCode, 204, 'surrounding whitespace is not part of the tag');
  t.notOk(await mappingExists());
});
