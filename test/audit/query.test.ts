import { randomUUID } from 'node:crypto';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { macKeyOf } from '../support/seal-helpers.js';
import { auditorGet, pageAll, query, seedSpread } from '../support/audit-fixtures.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';

interface Row {
  id: string;
  event_id: string;
  occurred_at: Date;
  event_type: string;
  outcome: string;
  actor_issuer: string | null;
  actor_subject: string | null;
  actor_groups: string[] | null;
  database_name: string | null;
  access_level: string | null;
  db_user: string | null;
  request_id: string | null;
}

const h = await startHarness(t);
// Set-up failures throw: tap's root test does not take assertions between awaits at top level.
const expectStatus = <R extends { statusCode: number; body: string }>(res: R, status: number): R => {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  return res;
};

// Real traffic through the API: admin changes, grants, denials (including an auditor's).
await h.registerOrders();
await h.registerOrders({ name: 'billing', levels: { ro: { dbUser: 'billing_ro' } } });
await h.map('alice', 'orders', ['ro', 'rw']);
await h.map('group:payments', 'billing', ['ro']);
const alice = await h.token('alice', ['eng']);
const grants: string[] = [];
for (const body of [{ database: 'orders', access: 'ro', reason: 'incident 42' }, { database: 'orders', access: 'rw' }]) {
  grants.push(expectStatus(await h.grant(alice, body), 200).json().grantId);
}
expectStatus(await h.grant(await h.token('bob', ['payments']), { database: 'billing', access: 'ro' }), 200);
expectStatus(await h.grant(await h.token('carol'), { database: 'orders', access: 'ro' }), 403);
expectStatus(await h.grant(await h.token(AUDITOR_SUBJECT), { database: 'orders', access: 'ro' }), 403);
// Bulk, time-spread history, plus three events inside one millisecond (microsecond keyset positions).
await seedSpread(h.store, 60, new Date('2025-03-01T00:00:00Z'), macKeyOf(h));
for (const micros of ['000300', '000100', '000200']) {
  await h.store.query(
    `INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, actor_issuer, actor_subject, actor_groups, database_name)
     VALUES ($1, $2::timestamptz, 'credential.denied', 'denied', 'no_mapping', 'https://idp.example', 'micro', '{}', 'orders')`,
    [randomUUID(), `2025-02-01T00:00:00.${micros}Z`],
  );
}

const all = (await h.store.query<Row>(
  `SELECT id::text AS id, event_id::text AS event_id, occurred_at, event_type, outcome, actor_issuer, actor_subject, actor_groups,
          database_name, access_level, db_user, request_id FROM audit_events ORDER BY occurred_at, id`,
)).rows;
const issuedRow = all.find((r) => r.event_id === grants[0]) as Row;

const cases: { name: string; params: Record<string, string>; keep: (r: Row) => boolean }[] = [
  { name: 'everything', params: {}, keep: () => true },
  { name: 'time range', params: { from: '2025-03-01T00:10:00Z', to: '2025-03-01T00:40:00.000Z' }, keep: (r) => r.occurred_at >= new Date('2025-03-01T00:10:00Z') && r.occurred_at < new Date('2025-03-01T00:40:00Z') },
  { name: 'event type', params: { eventType: 'credential.issued' }, keep: (r) => r.event_type === 'credential.issued' },
  { name: 'outcome', params: { outcome: 'denied' }, keep: (r) => r.outcome === 'denied' },
  { name: 'issuer', params: { issuer: 'https://other-idp.example' }, keep: (r) => r.actor_issuer === 'https://other-idp.example' },
  { name: 'subject', params: { subject: 'alice' }, keep: (r) => r.actor_subject === 'alice' },
  { name: 'group', params: { group: 'payments' }, keep: (r) => Boolean(r.actor_groups?.includes('payments')) },
  { name: 'database', params: { database: 'orders' }, keep: (r) => r.database_name === 'orders' },
  { name: 'level', params: { level: 'rw' }, keep: (r) => r.access_level === 'rw' },
  { name: 'DB user', params: { dbUser: 'orders_ro' }, keep: (r) => r.db_user === 'orders_ro' },
  { name: 'grant id', params: { grantId: grants[1] as string }, keep: (r) => r.event_id === grants[1] },
  { name: 'request id', params: { requestId: issuedRow.request_id as string }, keep: (r) => r.request_id === issuedRow.request_id },
  {
    name: 'combined',
    params: { database: 'orders', outcome: 'issued', from: '2025-03-01T00:20:00Z' },
    keep: (r) => r.database_name === 'orders' && r.outcome === 'issued' && r.occurred_at >= new Date('2025-03-01T00:20:00Z'),
  },
];

t.test('every filter, both orders, paged and unpaged, equals the same filter applied to the whole table', async (t) => {
  t.ok(all.length > 70, `${all.length} events in the data set`);
  for (const c of cases) {
    const expected = all.filter(c.keep).map((r) => r.id);
    t.ok(expected.length > 0, `${c.name}: the data set has matches`);
    t.same(await pageAll(h, { ...c.params, order: 'asc', limit: 7 }), expected, `${c.name}, oldest first, 7 a page`);
    const newest = [...expected].reverse();
    t.same(await pageAll(h, { ...c.params, limit: 7 }), newest, `${c.name}, newest first by default, 7 a page`);
    t.same(await pageAll(h, { ...c.params, limit: 1000 }), newest, `${c.name}, one page`);
  }
  t.same((await auditorGet(h, `/v1/audit/events?subject=nobody`)).json(), { items: [] }, 'no match: an empty page without a cursor');
});

t.test('events have the documented shape', async (t) => {
  const res = await auditorGet(h, `/v1/audit/events?grantId=${grants[0]}`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const [event] = res.json().items;
  t.same(Object.keys(event), [
    'id', 'eventId', 'occurredAt', 'eventType', 'outcome', 'reason', 'rule', 'requestId', 'actor', 'sourceIp', 'userAgent', 'database', 'level', 'engine', 'dbUser',
    'roleArn', 'sessionName', 'sourceIdentity', 'accessKeyId', 'tokenFingerprint', 'expiresAt', 'callerReason', 'details', 'awsCaller', 'traceId', 'parentSpanId', 'clientRequestId', 'accessRequestId',
  ]);
  t.match(event, {
    id: issuedRow.id,
    eventId: grants[0],
    engine: 'postgres',
    eventType: 'credential.issued',
    outcome: 'issued',
    reason: 'mapping_allows',
    rule: /^[0-9a-f-]{36}$/,
    actor: { issuer: h.issuer.issuer, subject: 'alice', groups: ['eng'] },
    database: 'orders',
    level: 'ro',
    dbUser: 'orders_ro',
    sessionName: /^dab\./,
    sourceIdentity: 'alice',
    accessKeyId: /^ASIA/,
    tokenFingerprint: /^hmac-sha256:[0-9a-f]{64}$/,
    callerReason: 'incident 42',
    details: null,
  });
  t.ok(Date.parse(event.expiresAt) > Date.parse(event.occurredAt));
  const auditorDenial = (await auditorGet(h, `/v1/audit/events?subject=${AUDITOR_SUBJECT}`)).json().items[0];
  t.match(auditorDenial, { eventType: 'credential.denied', reason: 'auditor_cannot_mint', rule: 'auth.auditors' });
});

t.test('paging stays exact while new events arrive', async (t) => {
  const before = all.map((r) => r.id);
  const arrive = async () => {
    for (let i = 0; i < 3; i++) {
      await insertAuditEvent(h.store, { eventId: randomUUID(), occurredAt: h.clock.now(), eventType: 'credential.denied', outcome: 'denied', reason: 'no_mapping', databaseName: 'orders' }, macKeyOf(h));
    }
  };
  const newest = await pageAll(h, { limit: 10 }, arrive);
  t.same(newest, [...before].reverse(), 'newest first: events arriving above the cursor never shift the pages below it');

  const oldest = await pageAll(h, { order: 'asc', limit: 10 }, arrive);
  t.same(oldest.slice(0, before.length), before, 'oldest first: every earlier event exactly once, in order');
  t.equal(new Set(oldest).size, oldest.length, 'no duplicates');
  const known = new Set(before);
  t.ok(oldest.slice(before.length).every((id) => !known.has(id)), 'then only events that arrived while paging');
});

t.test('bad queries are 400 problem+json with a stable code and the field at fault', async (t) => {
  const first = (await auditorGet(h, '/v1/audit/events?subject=dave&limit=2')).json();
  const cursor = first.nextCursor as string;
  t.ok(cursor, 'a cursor to misuse');
  t.equal((await auditorGet(h, `/v1/audit/events?subject=dave&limit=2&cursor=${cursor}`)).statusCode, 200, 'the cursor works with its own query');
  const forged = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');
  const cases: [string, string][] = [
    ['cursor=not-a-cursor!', 'querystring.cursor'],
    [`cursor=${forged({ v: 2 })}`, 'querystring.cursor'],
    [`cursor=${forged({ v: 1, at: '2025-01-01T00:00:00.000000Z', id: '99999999999999999999', o: 'desc', f: 'x' })}`, 'querystring.cursor'],
    [`subject=erin&limit=2&cursor=${cursor}`, 'querystring.cursor'],
    [`subject=dave&limit=2&order=asc&cursor=${cursor}`, 'querystring.cursor'],
    ['limit=1001', 'querystring.limit'],
    ['limit=0', 'querystring.limit'],
    ['limit=ten', 'querystring.limit'],
    ['foo=1', 'querystring.foo'],
    ['from=yesterday', 'querystring.from'],
    ['from=2025-01-01T00:00:00', 'querystring.from'],
    ['from=0000-01-01T00:00:00Z', 'querystring.from'],
    ['to=2025-12-31T23:59:60Z', 'querystring.to'],
    ['subject=a%00b', 'querystring.subject'],
    ['from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', 'querystring.to'],
    ['grantId=42', 'querystring.grantId'],
    ['outcome=maybe', 'querystring.outcome'],
    ['order=sideways', 'querystring.order'],
    ['subject=a&subject=b', 'querystring.subject'],
  ];
  for (const [qs, field] of cases) {
    const res = await auditorGet(h, `/v1/audit/events?${qs}`);
    t.equal(res.statusCode, 400, qs);
    t.match(String(res.headers['content-type']), /^application\/problem\+json/);
    t.match(res.json(), { code: 'validation_failed', type: 'urn:dab:problem:validation_failed', errors: [{ field }] }, qs);
  }
  t.equal((await auditorGet(h, `/v1/audit/events?${query({ from: '2025-03-01T00:10:00+02:00', to: '2025-03-01T00:10:00+02:00' })}`)).statusCode, 200, 'offsets are fine; an empty range is no error');
});
