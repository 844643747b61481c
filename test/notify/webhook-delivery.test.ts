import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { backoffMs } from '../../src/notify/webhook-notifier.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/notify/webhook-payloads.js';
import { startHarness } from '../support/harness.js';
import { applyPolicies, as, ordersPolicy, secondApp } from '../access-requests/support.js';

// The webhook notifier against a real receiver on loopback that fails (500), hangs (no answer:
// the delivery timeout), and recovers. Deliveries wait in the store's outbox, so a second app on
// the same store (a restart) delivers what the first could not; failures show in the metrics.

const SECRET = 'webhook-secret-0123456789abcdef';
type Mode = 'fail' | 'hang' | 'ok';
let mode: Mode = 'fail';
const received: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];
const hanging: Array<() => void> = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (mode === 'fail') return void res.writeHead(500).end('boom');
    if (mode === 'hang') return void hanging.push(() => res.destroy());
    received.push({ path: req.url ?? '', headers: req.headers, body });
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
t.teardown(() => {
  for (const end of hanging) end();
  receiver.close();
});
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const notify = {
  webhooks: [
    { name: 'ops', url: `${base}/ops`, secret: SECRET, format: 'json' },
    { name: 'chat', url: `${base}/slack`, format: 'slack', events: ['access_request.created', 'access_request.break_glass'] },
  ],
  timeoutMs: 150,
  baseBackoffMs: 20,
  maxBackoffMs: 60,
  maxAttempts: 50,
  pollIntervalMs: 25,
};
const h = await startHarness(t, { config: (c) => (c.notify = notify) });
await h.registerOrders();
await applyPolicies(h, [ordersPolicy(h.issuer.issuer)]);

const rows = async () => (await h.store.query<{ webhook: string; attempts: number; last_error: string | null; delivered_at: Date | null }>('SELECT webhook, attempts, last_error, delivered_at FROM notification_deliveries ORDER BY webhook')).rows;
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}
const metric = async (app: typeof h.app, webhook: string, result: string) => {
  const m = new RegExp(`^dab_notify_deliveries_total\\{webhook="${webhook}",result="${result}"\\} (\\d+)`, 'm').exec((await app.inject('/metrics')).body);
  return Number(m?.[1] ?? 0);
};

t.test('backoff doubles up to its cap', async (t) => {
  t.same([1, 2, 3, 4, 10].map((n) => backoffMs(n, 100, 500)), [100, 200, 400, 500, 500]);
});

let requestId = '';
t.test('a receiver that fails (500) is retried, and the failures are counted', async (t) => {
  const res = await as(h, 'app-1', ['apps'], 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'deploy', durationSeconds: 600 });
  t.equal(res.statusCode, 201);
  requestId = res.json().id;
  t.same((await rows()).map((r) => r.webhook), ['chat', 'ops'], 'one outbox row per webhook, in the request transaction');
  await until('both failed twice', async () => (await rows()).every((r) => r.attempts >= 2));
  t.same((await rows()).map((r) => r.last_error), ['HTTP 500', 'HTTP 500']);
  t.ok((await metric(h.app, 'ops', 'failed')) >= 2, 'failures visible in dab_notify_deliveries_total');
  t.match((await h.app.inject('/metrics')).body, /^dab_notify_undelivered 2$/m, 'and the backlog in dab_notify_undelivered');
});

t.test('a receiver that hangs hits the delivery timeout', async (t) => {
  mode = 'hang';
  await until('a timeout was recorded', async () => (await rows()).some((r) => r.last_error === 'no answer within 150 ms'));
  t.pass('hung attempts end after timeoutMs and are retried');
});

t.test('a restart loses nothing: a second app on the same store delivers once the receiver recovers', async (t) => {
  await h.app.close();
  for (const end of hanging.splice(0)) end();
  const before = await rows();
  t.ok(before.every((r) => r.delivered_at === null), 'nothing delivered yet');
  mode = 'ok';
  const second = await secondApp(t, h);
  await until('both delivered', async () => (await rows()).every((r) => r.delivered_at !== null));
  t.ok((await metric(second, 'ops', 'delivered')) >= 1);

  const ops = received.find((r) => r.path === '/ops');
  t.ok(ops, 'the JSON webhook got the event');
  t.equal(ops?.headers['x-dab-event'], 'access_request.created');
  t.ok(verifySignature(SECRET, ops?.body ?? '', String(ops?.headers[SIGNATURE_HEADER])), 'signed with the webhook secret (HMAC header)');
  t.notOk(verifySignature('another-secret-0123456789', ops?.body ?? '', String(ops?.headers[SIGNATURE_HEADER])), 'and not with any other key');
  t.match(JSON.parse(ops?.body ?? '{}'), { version: 1, type: 'access_request.created', actor: { subject: 'app-1' }, reason: 'deploy', request: { id: requestId, state: 'pending' } });
  const slack = received.find((r) => r.path === '/slack');
  const text = JSON.parse(slack?.body ?? '{}').text as string;
  t.match(text, /app-1 requested `rw` on `orders`/, 'the Slack-compatible payload is one text line');
  t.notOk(slack?.headers[SIGNATURE_HEADER], 'no secret, no signature');

  // Approve and break-glass through the second app: the JSON webhook wants every event, the chat one only its two.
  const approved = await second.inject({ method: 'POST', url: `/v1/access-requests/${requestId}/approve`, headers: { authorization: `Bearer ${await h.token('dba-alice')}` }, payload: { version: 1 } });
  t.equal(approved.statusCode, 200);
  const bg = await second.inject({ method: 'POST', url: '/v1/access-requests', headers: { authorization: `Bearer ${await h.token('app-2', ['apps'])}` }, payload: { database: 'orders', access: 'rw', reason: 'outage', durationSeconds: 300, breakGlass: true } });
  t.equal(bg.statusCode, 201);
  await until('approved and break-glass delivered', async () => received.filter((r) => r.path === '/ops').length >= 3 && received.some((r) => r.path === '/slack' && r.body.includes('BROKE GLASS')));
  const loud = received.find((r) => r.path === '/ops' && r.headers['x-dab-event'] === 'access_request.break_glass');
  t.equal(JSON.parse(loud?.body ?? '{}').loud, true, 'break-glass is marked loud');
  t.match(JSON.parse(received.find((r) => r.path === '/slack' && r.body.includes('BROKE GLASS'))?.body ?? '{}').text, /<!here>/);
  t.notOk(received.some((r) => r.path === '/slack' && r.headers['x-dab-event'] === 'access_request.approved'), 'a webhook gets only the events it lists');
});
