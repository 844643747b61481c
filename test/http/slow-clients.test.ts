import { connect, type AddressInfo, type Socket } from 'node:net';
import t from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import { startHarness } from '../support/harness.js';

// Issue 10, defect 4: clients trickling headers or bodies were never cut off. A bounded run on
// loopback: 200 slow connections against small bounds, and a real caller served meanwhile.
const LIMITS = { headersTimeoutMs: 800, requestTimeoutMs: 1500, idleTimeoutMs: 3000, keepAliveTimeoutMs: 500 };
// Bound + deadline-check interval + generous slack for a loaded machine; without limits they never close.
const CLOSED_WITHIN_MS = LIMITS.requestTimeoutMs + 10000;
const TRICKLE_EVERY_MS = 200;

interface Slow {
  kind: string;
  socket: Socket;
  openedAt: number;
  closedAt?: number;
  received: string;
}

/** Opens a connection that sends `head` at once, then one byte of `drip` every TRICKLE_EVERY_MS. */
function trickle(port: number, kind: string, head: string, drip: string): Promise<Slow> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const slow: Slow = { kind, socket, openedAt: 0, received: '' };
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8').on('data', (chunk: string) => (slow.received += chunk));
    socket.on('close', () => {
      clearInterval(timer);
      slow.closedAt = Date.now();
    });
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      slow.openedAt = Date.now();
      if (head) socket.write(head);
      // Only once connected: a drip queued before the head would arrive first and read as a bad method.
      if (drip) timer = setInterval(() => void (socket.writable && socket.write(drip[i++ % drip.length] as string)), TRICKLE_EVERY_MS);
      resolve(slow);
    });
    socket.once('error', reject);
  });
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

t.test('trickling headers and bodies are cut within the configured bound; a real caller is served meanwhile', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.listen = { ...LIMITS }) });
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro']);
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  const bearer = await h.token('app-orders');
  const slowlyAuthed = await h.token('slow-caller');

  const body = JSON.stringify({ database: 'orders', access: 'ro', reason: 'x'.repeat(200) });
  const headers = (auth: string | null) =>
    ['POST /v1/credentials HTTP/1.1', 'host: 127.0.0.1', 'content-type: application/json', `content-length: ${body.length}`, ...(auth ? [`authorization: Bearer ${auth}`] : []), '', ''].join('\r\n');

  const opening: Promise<Slow>[] = [];
  for (let i = 0; i < 200; i++) {
    const kind = ['headers', 'anonymous body', 'authenticated body', 'silent'][i % 4] as string;
    if (kind === 'headers') opening.push(trickle(port, kind, 'POST /v1/credentials HTTP/1.1\r\nhost: 127.0.0.1\r\n', 'x-slow: aaaaaaaa\r\n'));
    else if (kind === 'anonymous body') opening.push(trickle(port, kind, headers(null), body));
    else if (kind === 'authenticated body') opening.push(trickle(port, kind, headers(slowlyAuthed), body));
    else opening.push(trickle(port, kind, '', ''));
  }
  const slow = await Promise.all(opening);
  t.equal(slow.length, 200, '200 slow connections opened');

  // While they trickle, a real caller gets its token at once.
  await new Promise((r) => setTimeout(r, 300));
  const stillOpen = slow.filter((s) => s.closedAt === undefined).length;
  const res = await fetch(`http://127.0.0.1:${port}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ database: 'orders', access: 'ro' }),
  });
  t.equal(res.status, 200, 'the real caller is served');
  t.ok(stillOpen > 100, `the slow ones were still open then (${stillOpen})`);

  const allClosed = await waitUntil(() => slow.every((s) => s.closedAt !== undefined), CLOSED_WITHIN_MS + 1000);
  t.ok(allClosed, 'every slow connection was closed by dab');
  for (const kind of ['headers', 'anonymous body', 'authenticated body', 'silent']) {
    const group = slow.filter((s) => s.kind === kind);
    const worst = Math.max(...group.map((s) => (s.closedAt ?? Infinity) - s.openedAt));
    t.ok(worst <= CLOSED_WITHIN_MS, `${kind}: all ${group.length} closed within ${CLOSED_WITHIN_MS} ms (slowest ${worst} ms)`);
  }
  // Header tricklers never finished a request: Node's 408, written by Fastify's client error handler.
  // (A reset can make the client's kernel drop the unread 408: nothing at all, never anything else.)
  const headerAnswers = slow.filter((s) => s.kind === 'headers').map((s) => s.received.slice(0, 12));
  t.ok(headerAnswers.every((a) => a === '' || a === 'HTTP/1.1 408'), 'header tricklers got 408 or nothing');
  t.ok(headerAnswers.includes('HTTP/1.1 408'), 'header tricklers got 408');
  // Anonymous bodies got their 401 at once (auth runs before the body), then were cut anyway.
  // (The cut is a reset, which can make the client's kernel discard the unread answer; and past 30
  // failed authentications from one address the answer is 429: rate limits apply here too.)
  const anonymousAnswers = slow.filter((s) => s.kind === 'anonymous body').map((s) => s.received.slice(0, 12));
  t.ok(anonymousAnswers.every((a) => a !== 'HTTP/1.1 200'), `anonymous tricklers never got a grant (${[...new Set(anonymousAnswers)].join(', ')})`);
  t.ok(anonymousAnswers.includes('HTTP/1.1 401'), 'anonymous tricklers got their 401, then the cut');
  t.equal((await h.auditRows("actor_subject = 'slow-caller'")).length, 0, 'no grant was made from a body that never arrived');

  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /dab_http_connections_cut_total\{reason="request_timeout"\} \d+/, 'cuts are counted');
});

t.test('connections over listen.maxConnections are dropped at accept, and serving resumes', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.listen = { ...LIMITS, maxConnections: 20 }) });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  const held = await Promise.all(Array.from({ length: 30 }, () => trickle(port, 'silent', '', '')));
  const dropped = await waitUntil(() => held.filter((s) => s.closedAt !== undefined).length >= 10, 3000);
  t.ok(dropped, 'the 10 connections over the bound were closed at once');
  t.ok(held.filter((s) => s.closedAt === undefined).length <= 20, 'no more than 20 held');
  // Once the slow ones are cut, a real request gets through again.
  await waitUntil(() => held.every((s) => s.closedAt !== undefined), CLOSED_WITHIN_MS + 1000);
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(res.status, 200, 'served after the slow ones were cut');
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /dab_http_connections_cut_total\{reason="max_connections"\} (1\d|[2-9]\d)/, 'drops are counted');
});

t.test('a header timeout longer than the request timeout is refused at start-up', async (t) => {
  const base = { auth: { issuers: [{ issuer: 'https://idp.example', audience: 'dab' }] }, audit: { fingerprintKey: 'ab'.repeat(32) } };
  t.throws(() => parseConfig({ ...base, listen: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }), /listen\.headersTimeoutMs/);
  const defaults = parseConfig(base).listen;
  t.match(defaults, { headersTimeoutMs: 10000, requestTimeoutMs: 30000, idleTimeoutMs: 60000, keepAliveTimeoutMs: 72000, maxConnections: 10000 }, 'documented defaults');
});
