import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { CSV_COLUMNS } from '../../src/audit/audit-export-format.js';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import type { Store } from '../../src/store/store.js';
import { macKeyOf } from '../support/seal-helpers.js';
import { auditorGet, parseCsv, query, seedSpread } from '../support/audit-fixtures.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';

const h = await startHarness(t);
await h.registerOrders();
await h.map('alice', 'orders', ['ro']);
if ((await h.grant(await h.token('alice'), { database: 'orders', access: 'ro', reason: 'export test' })).statusCode !== 200) throw new Error('grant failed');
await seedSpread(h.store, 40, new Date('2025-03-01T00:00:00Z'), macKeyOf(h));

const HOSTILE = [`=cmd|' /C calc'!A0`, '+1', '-1', '@SUM(1)', '\t=tab', '\r=cr', 'say "hi", twice', 'line one\nline two', 'crlf\r\ninside', 'a,b,c', '"', 'plain'];
for (const [i, value] of HOSTILE.entries()) {
  await insertAuditEvent(h.store, {
    eventId: randomUUID(),
    occurredAt: new Date(Date.UTC(2025, 5, 1, 0, i)),
    eventType: 'credential.denied',
    outcome: 'denied',
    reason: 'no_mapping',
    actor: { issuer: 'https://idp.example', subject: 'hostile', groups: [value] },
    userAgent: value,
    callerReason: value,
    details: { note: value },
  }, macKeyOf(h));
}

async function events(params: Record<string, string>) {
  const res = await auditorGet(h, `/v1/audit/events?${query({ ...params, order: 'asc', limit: 1000 })}`);
  return res.json().items as Record<string, any>[];
}

/** What a CSV cell must read as once its anti-formula prefix is removed. */
const cellText = (v: unknown) => (v === null || v === undefined ? '' : String(v));
const unprefixed = (cell: string) => (/^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell);

t.test('NDJSON export equals the query result for the same filter', async (t) => {
  const filters: Record<string, string>[] = [{}, { database: 'orders' }, { outcome: 'issued', from: '2025-03-01T00:10:00Z' }];
  for (const params of filters) {
    const res = await auditorGet(h, `/v1/audit/export?${query({ ...params, format: 'ndjson' })}`);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8');
    t.match(res.headers['content-disposition'], /^attachment; filename="dab-audit-[\dTZ-]+\.ndjson"$/);
    t.equal(res.headers['cache-control'], 'no-store');
    const lines = res.body.split('\n');
    t.equal(lines.pop(), '', 'every line ends with a newline');
    t.same(lines.map((l) => JSON.parse(l)), await events(params), JSON.stringify(params));
  }
  const newest = await auditorGet(h, '/v1/audit/export?order=desc&database=orders');
  t.same(newest.body.trim().split('\n').map((l) => JSON.parse(l).id), (await events({ database: 'orders' })).map((e) => e.id).reverse(), 'order=desc');
});

t.test('CSV export equals the query result, flattened, and round-trips', async (t) => {
  const res = await auditorGet(h, '/v1/audit/export?format=csv&database=orders');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8; header=present');
  t.match(res.headers['content-disposition'], /\.csv"$/);
  t.ok(res.body.endsWith('\r\n'), 'CRLF record ends (RFC 4180)');
  const [header, ...rows] = parseCsv(res.body);
  t.same(header, CSV_COLUMNS.map(([name]) => name));
  const expected = await events({ database: 'orders' });
  t.equal(rows.length, expected.length);
  rows.forEach((row, i) => t.same(row.map(unprefixed), CSV_COLUMNS.map(([, get]) => cellText(get(expected[i] as never))), `row ${i}`));
});

t.test('hostile values: no cell can start a formula, and everything round-trips', async (t) => {
  const res = await auditorGet(h, '/v1/audit/export?format=csv&subject=hostile');
  const [header, ...rows] = parseCsv(res.body);
  t.equal(rows.length, HOSTILE.length);
  const col = (name: string) => (header as string[]).indexOf(name);
  for (const [i, value] of HOSTILE.entries()) {
    const row = rows[i] as string[];
    for (const cell of row) t.notMatch(cell, /^[=+\-@\t\r]/, `no formula start in row ${i}`);
    const reason = row[col('callerReason')] as string;
    t.equal(reason, /^[=+\-@\t\r]/.test(value) ? `'${value}` : value, `callerReason ${JSON.stringify(value)} prefixed only when it could be a formula`);
    t.equal(unprefixed(row[col('userAgent')] as string), value, 'userAgent round-trips');
    t.same(JSON.parse(row[col('actorGroups')] as string), [value], 'groups stay JSON');
    t.same(JSON.parse(row[col('details')] as string), { note: value }, 'details stay JSON');
  }
  t.match(res.body, /"say ""hi"", twice"/, 'quotes doubled inside a quoted field');
  t.match(res.body, /"line one\nline two"/, 'line breaks kept inside quotes');
});

t.test('bad export requests are 400s before anything is streamed', async (t) => {
  for (const qs of ['format=xlsx', 'limit=10', 'cursor=abc', 'from=soon', 'subject=']) {
    const res = await auditorGet(h, `/v1/audit/export?${qs}`);
    t.equal(res.statusCode, 400, qs);
    t.equal(res.json().code, 'validation_failed');
  }
});

/** The same store, counting the export's batch queries and able to fail one on demand. */
function observedStore(store: Store) {
  const state = { batches: 0, failAt: 0 };
  const wrapped: Store = {
    ...store,
    query: async (sql, params) => {
      if (sql.includes('FROM audit_events e') && sql.includes('ORDER BY e.occurred_at')) {
        state.batches++;
        if (state.batches === state.failAt) throw Object.assign(new Error('connection lost (simulated)'), { code: '08006' });
      }
      return store.query(sql, params);
    },
  };
  return { store: wrapped, state };
}

t.test('a large export streams in batches as the client reads, without buffering', async (t) => {
  const ROWS = 50_000;
  await h.store.query(
    `INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, actor_issuer, actor_subject, actor_groups, database_name, caller_reason)
     SELECT gen_random_uuid(), timestamptz '2024-01-01T00:00:00Z' + n * interval '1 second', 'bulk.seeded', 'succeeded', 'seed',
            'https://idp.example', 'bulk-' || (n % 50), ARRAY['g' || (n % 7)], 'orders', 'bulk row ' || n
     FROM generate_series(1, ${ROWS}) AS n`,
  );
  // What autovacuum does after a bulk load (the embedded store has none): without statistics the
  // planner takes 50 000 fresh rows for a handful and sorts instead of walking the time index.
  await h.store.exec('ANALYZE audit_events');
  const observed = observedStore(h.store);
  const app = await buildApp(h.config, { store: observed.store, assumeRole: async () => { throw new Error('unused'); }, logStream: { write: () => true } });
  t.teardown(() => app.close());
  const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
  const authorization = `Bearer ${await h.token(AUDITOR_SUBJECT)}`;
  const get = (path: string) =>
    new Promise<IncomingMessage>((resolve, reject) => httpRequest({ host: url.hostname, port: url.port, path, headers: { authorization } }, resolve).on('error', reject).end());

  const res = await get('/v1/audit/export?eventType=bulk.seeded');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['transfer-encoding'], 'chunked', 'streamed, chunked');
  t.notOk(res.headers['content-length'], 'no content-length: the size was never known up front');
  const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
  res.pause();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const whilePaused = observed.state.batches;
  t.ok(whilePaused >= 1 && whilePaused <= 5, `a paused client holds the export back (${whilePaused} of 11 batch queries run)`);

  let text = first.toString('utf8');
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.resume();
  await new Promise((resolve) => res.on('end', resolve));
  const lines = text.trimEnd().split('\n');
  t.equal(lines.length, ROWS, 'every row');
  t.equal(JSON.parse(lines[0] as string).callerReason, 'bulk row 1');
  t.equal(JSON.parse(lines[ROWS - 1] as string).callerReason, `bulk row ${ROWS}`, 'oldest first, in order');
  t.equal(observed.state.batches, 11, 'ten full batches of 5000 and one empty');

  await t.test('a store fault before the first row is a 503, after it a cut stream (never a short clean file)', async (t) => {
    observed.state.batches = 0;
    observed.state.failAt = 1;
    const early = await fetch(new URL('/v1/audit/export?eventType=bulk.seeded', url), { headers: { authorization } });
    t.equal(early.status, 503);
    t.equal(((await early.json()) as { code: string }).code, 'store_unavailable');

    observed.state.batches = 0;
    observed.state.failAt = 3;
    const late = await fetch(new URL('/v1/audit/export?eventType=bulk.seeded', url), { headers: { authorization } });
    t.equal(late.status, 200);
    await t.rejects(late.text(), 'the client sees the stream break');
  });
});
