// Tracing: a caller's W3C traceparent and x-request-id are validated, then recorded in the access
// line and the audit row (and found again through the audit API); anything invalid is ignored —
// never a 4xx, never copied raw into a log line.
import tap from 'tap';
import { parseClientRequestId, parseTraceparent } from '../../src/http/trace-context.js';
import { auditorGet, parseCsv } from '../support/audit-fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';

type Line = Record<string, any>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;
const linesOf = (h: Harness, requestId: unknown): Line[] => h.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.reqId === requestId && l.msg === 'request');

tap.test('traceparent: W3C level 1 parsing', async (t) => {
  t.same(parseTraceparent(VALID), { traceId: TRACE, parentSpanId: SPAN });
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, parentSpanId: SPAN }, 'not sampled is still a trace');
  t.same(parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-the-future-holds`), { traceId: TRACE, parentSpanId: SPAN }, 'a later version: read by its 00 prefix');
  t.same(parseTraceparent(`01-${TRACE}-${SPAN}-01`), { traceId: TRACE, parentSpanId: SPAN }, 'a later version of exactly 55 characters');
  const invalid: [string, unknown][] = [
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with more after it', `${VALID}-extra`],
    ['a later version followed by no dash', `cc-${TRACE}-${SPAN}-01x`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['non-hex', `00-${TRACE.slice(0, 31)}g-${SPAN}-01`],
    ['non-hex flags', `00-${TRACE}-${SPAN}-0z`],
    ['wrong separators', `00_${TRACE}_${SPAN}_01`],
    ['two headers joined by Node', `${VALID}, ${VALID}`],
    ['empty', ''],
    ['huge', `00-${TRACE}-${SPAN}-01`.padEnd(100_000, '-')],
    ['not a string', ['a', 'b']],
    ['absent', undefined],
  ];
  for (const [what, value] of invalid) t.equal(parseTraceparent(value), null, what);
});

tap.test('x-request-id: bounded, plain charset', async (t) => {
  for (const ok of ['req-1', 'a', '0193a6f2-7c1d-7a10-8b3e-9c0d1e2f3a4b', 'Root=1-5f84c7a9-3b2c1d0e9f8a7b6c5d4e3f2a;Parent=abc', 'x'.repeat(128), 'dGVzdA==', 'svc/123:4@eu'])
    t.equal(parseClientRequestId(ok), ok, ok.slice(0, 40));
  for (const [what, bad] of [
    ['129 characters', 'x'.repeat(129)],
    ['empty', ''],
    ['a line break (log injection)', 'req-1\n{"level":50,"msg":"forged"}'],
    ['a space', 'req 1'],
    ['a quote', 'req"1'],
    ['a comma (CSV / joined headers)', 'a, b'],
    ['control character', 'req\u00071'],
    ['non-ASCII', 'rëq'],
    ['formula start', '=HYPERLINK("x")'],
    ['leading dash', '-rf'],
    ['not a string', ['a']],
  ] as const) t.equal(parseClientRequestId(bad), null, what);
});

tap.test('a traced grant: the access line, the audit row and the audit API carry the trace', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const bearer = await h.token('app-orders');

  const res = await h.grant(bearer, { database: 'orders', access: 'ro' }, { traceparent: VALID, 'x-request-id': 'checkout-42' });
  t.equal(res.statusCode, 200, res.body);
  const requestId = res.headers['x-request-id'];
  t.match(requestId, UUID, "the response carries dab's own request id");
  t.not(requestId, 'checkout-42');
  const [line, ...more] = linesOf(h, requestId);
  t.equal(more.length, 0);
  t.match(line, { traceId: TRACE, parentSpanId: SPAN, clientRequestId: 'checkout-42', outcome: 'issued' });

  const [row] = await h.auditRows("event_type = 'credential.issued'");
  t.match(row, { request_id: requestId, trace_id: TRACE, parent_span_id: SPAN, client_request_id: 'checkout-42' });

  const page = (await auditorGet(h, `/v1/audit/events?traceId=${TRACE}`)).json();
  t.equal(page.items.length, 1, 'the trace filter finds the grant');
  t.match(page.items[0], { eventType: 'credential.issued', requestId, traceId: TRACE, parentSpanId: SPAN, clientRequestId: 'checkout-42' });
  t.same((await auditorGet(h, `/v1/audit/events?traceId=${'1'.repeat(32)}`)).json(), { items: [] }, 'another trace: nothing');
  t.equal((await auditorGet(h, `/v1/audit/events?traceId=${TRACE.toUpperCase()}`)).statusCode, 400, 'a filter that is no trace id is a 400');

  const csv = parseCsv((await auditorGet(h, `/v1/audit/export?format=csv&traceId=${TRACE}`)).body);
  const header = csv[0]!;
  t.equal(csv.length, 2, 'header and the one event');
  t.equal(csv[1]![header.indexOf('traceId')], TRACE);
  t.equal(csv[1]![header.indexOf('parentSpanId')], SPAN);
  t.equal(csv[1]![header.indexOf('clientRequestId')], 'checkout-42');
  const ndjson = (await auditorGet(h, `/v1/audit/export?traceId=${TRACE}`)).body.trim().split('\n').map((l) => JSON.parse(l));
  t.match(ndjson, [{ traceId: TRACE, clientRequestId: 'checkout-42' }]);

  // A denial is traced as well; a DBA's change too (admin rows take the trace from the request).
  const denied = await h.grant(await h.token('app-stranger'), { database: 'orders', access: 'rw' }, { traceparent: `00-${'a'.repeat(32)}-${SPAN}-01` });
  t.equal(denied.statusCode, 403);
  t.match((await h.auditRows("event_type = 'credential.denied'"))[0], { trace_id: 'a'.repeat(32), client_request_id: null });
  const created = await h.app.inject({
    method: 'POST', url: '/v1/mappings',
    payload: { principal: { issuer: h.issuer.issuer, subject: 'app-other' }, database: 'orders', levels: ['ro'] },
    headers: { authorization: `Bearer ${await h.adminToken()}`, traceparent: `00-${'b'.repeat(32)}-${SPAN}-01`, 'x-request-id': 'dba-change-7' },
  });
  t.equal(created.statusCode, 201, created.body);
  t.match((await h.auditRows("event_type = 'mapping.created' AND rule = $1", [created.json().id]))[0], { trace_id: 'b'.repeat(32), client_request_id: 'dba-change-7' });
});

tap.test("a rate-limit refusal's audit row carries the refused request's trace, like its request id", async (t) => {
  const h = await startHarness(t, { config: (c) => (c.rateLimit = { ...c.rateLimit, caller: { burst: 1, perSecond: 0.01 }, summaryWindowSeconds: 1 }) });
  await h.registerOrders();
  const bearer = await h.token('flooder');
  t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 403, 'the burst: served, and denied');
  const refused = await h.grant(bearer, { database: 'orders', access: 'ro' }, { traceparent: VALID, 'x-request-id': 'flood-1' });
  t.equal(refused.statusCode, 429);
  let rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 100 && rows.length === 0; i++) {
    rows = await h.auditRows("event_type = 'rate_limit.started'");
    if (!rows.length) await new Promise((r) => setTimeout(r, 50));
  }
  t.match(rows, [{ request_id: refused.headers['x-request-id'], trace_id: TRACE, parent_span_id: SPAN, client_request_id: 'flood-1' }]);
});

tap.test('invalid or hostile trace headers are ignored: the grant succeeds, nothing raw is logged or stored', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  const bearer = await h.token('app-orders');
  // (C0 control characters in any header are refused before this, as a 400, by src/http/text-safety.ts.)
  const hostile = [
    { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01`, 'x-request-id': 'x'.repeat(129) },
    { traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01`, 'x-request-id': 'evil<script>$(id)' },
    { traceparent: `00-${TRACE}-${SPAN}-01-INJECTED"}`, 'x-request-id': 'a"b' },
    { traceparent: 'garbage', 'x-request-id': '' },
  ];
  for (const headers of hostile) {
    const res = await h.grant(bearer, { database: 'orders', access: 'ro' }, headers);
    t.equal(res.statusCode, 200, `${JSON.stringify(headers).slice(0, 80)}: never a 4xx`);
    const [line] = linesOf(h, res.headers['x-request-id']);
    t.ok(line, 'an access line');
    for (const key of ['traceId', 'parentSpanId', 'clientRequestId']) t.notOk(key in line!, `${key}: not in the line`);
    t.match(res.headers['x-request-id'], UUID, "dab's own id, not the caller's");
  }
  const logged = h.logs.join('\n');
  for (const raw of ['INJECTED', 'evil', 'x'.repeat(129), TRACE.toUpperCase()]) t.notOk(logged.includes(raw), `${raw.slice(0, 20)} never reaches the log`);
  const rows = await h.auditRows("event_type = 'credential.issued'");
  t.equal(rows.length, hostile.length);
  for (const row of rows) t.match(row, { trace_id: null, parent_span_id: null, client_request_id: null });

  // Only one of the two valid: that one is recorded.
  const res = await h.grant(bearer, { database: 'orders', access: 'ro' }, { traceparent: 'nope', 'x-request-id': 'only-this' });
  t.match(linesOf(h, res.headers['x-request-id'])[0], { clientRequestId: 'only-this' });
  t.notOk('traceId' in linesOf(h, res.headers['x-request-id'])[0]!);
});
