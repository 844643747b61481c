// npm run bench:slow-clients — issue 10's slow-client scenario at scale, bounded, loopback only.
// dab runs in this process with its default listen.* bounds (or SLOW_* overrides); a forked child
// opens SLOW_CONNECTIONS connections that trickle headers or bodies one byte per second, so the
// open fds counted here are dab's own. A real caller asks for a token every 200 ms meanwhile.
import { fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { envInt, MAPPED_SUBJECT, percentile, startAbuseDab, timedGrant } from './abuse-fixtures.js';

const CONNECTIONS = envInt('SLOW_CONNECTIONS', 3000, 8000);
const MAX_SECONDS = envInt('SLOW_MAX_SECONDS', 90, 300);
const openFds = () => readdirSync('/proc/self/fd').length;

if (process.argv[2] === '--trickler') trickler(Number(process.argv[3]), Number(process.argv[4]), process.argv[5] as string);
else await main();

/** The child: opens the slow connections and reports when each is closed (by dab: it never closes one). */
function trickler(port: number, count: number, bearer: string): void {
  const body = JSON.stringify({ database: 'orders', access: 'ro', reason: 'x'.repeat(400) });
  const head = (auth: boolean) =>
    `POST /v1/credentials HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${auth ? `authorization: Bearer ${bearer}\r\n` : ''}\r\n`;
  let opened = 0;
  const closes: number[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 3; // 0: headers trickled, 1: anonymous body trickled, 2: authenticated body trickled
    const socket = connect(port, '127.0.0.1');
    let openedAt = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      openedAt = Date.now();
      opened++;
      let j = 0;
      const drip = kind === 0 ? 'x-slow: aaaaaaaaaaaaaaaa\r\n' : body;
      socket.write(kind === 0 ? 'POST /v1/credentials HTTP/1.1\r\nhost: 127.0.0.1\r\n' : head(kind === 2));
      timer = setInterval(() => void (socket.writable && socket.write(drip[j++ % drip.length] as string)), 1000);
      if (opened === count) process.send?.({ opened });
    });
    socket.once('close', () => {
      clearInterval(timer);
      closes.push(openedAt ? Date.now() - openedAt : 0);
      if (closes.length % 250 === 0 || closes.length === count) process.send?.({ closed: closes.length, closes: closes.length === count ? closes : undefined });
    });
  }
  process.on('message', (m) => {
    if (m === 'report') process.send?.({ closed: closes.length, closes, final: true });
  });
}

async function main(): Promise<void> {
  const dab = await startAbuseDab({});
  const bearer = await dab.issuer.sign({ sub: MAPPED_SUBJECT }, { expiresIn: '1h' });
  const slowBearer = await dab.issuer.sign({ sub: 'slow-caller' }, { expiresIn: '1h' });
  for (let i = 0; i < 5; i++) await timedGrant(dab.url, bearer); // warm: JWKS, STS session, pool
  const fdsBefore = openFds();
  let peakFds = fdsBefore;
  let peakConnections = 0;
  const latencies: number[] = [];
  let served = 0;
  let failed = 0;

  const started = Date.now();
  const child = fork(fileURLToPath(import.meta.url), ['--trickler', String(dab.port), String(CONNECTIONS), slowBearer], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let allOpenedAt = 0;
  let closes: number[] | undefined;
  child.on('message', (m: { opened?: number; closes?: number[] }) => {
    if (m.opened) allOpenedAt = Date.now() - started;
    if (m.closes) closes = m.closes;
  });

  const deadline = started + MAX_SECONDS * 1000;
  while (Date.now() < deadline && !closes) {
    const r = await timedGrant(dab.url, bearer);
    if (r.status === 200) (served++, latencies.push(r.ms));
    else failed++;
    peakFds = Math.max(peakFds, openFds());
    peakConnections = Math.max(peakConnections, await new Promise<number>((res) => dab.app.server.getConnections((_e, n) => res(n))));
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!closes) {
    child.send('report');
    closes = await new Promise<number[]>((res) => child.on('message', (m: { final?: boolean; closes?: number[] }) => m.final && res(m.closes ?? [])));
  }
  const elapsed = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const fdsAfter = openFds();
  child.kill();
  const listen = (await import('../src/config/load-config.js')).parseConfig({ auth: { issuers: [{ issuer: 'x', audience: 'dab' }] }, audit: { fingerprintKey: 'ab'.repeat(32) } }).listen;
  await dab.close();

  console.log(`slow clients: ${CONNECTIONS} connections trickling 1 byte/s (1/3 headers, 1/3 anonymous bodies, 1/3 authenticated bodies), store ${dab.storeLabel}`);
  console.log(`bounds (defaults): headers ${listen.headersTimeoutMs} ms, request ${listen.requestTimeoutMs} ms, idle ${listen.idleTimeoutMs} ms, maxConnections ${listen.maxConnections}`);
  console.log(`opened ${CONNECTIONS} in ${(allOpenedAt / 1000).toFixed(1)} s; closed by dab: ${closes.length} of ${CONNECTIONS} within the ${MAX_SECONDS} s bound (run ${elapsed.toFixed(1)} s)`);
  console.log(`time to close: p50 ${(percentile(closes, 50) / 1000).toFixed(1)} s, p99 ${(percentile(closes, 99) / 1000).toFixed(1)} s, max ${(Math.max(...closes) / 1000).toFixed(1)} s`);
  console.log(`dab open fds: before ${fdsBefore}, peak ${peakFds}, after ${fdsAfter}; peak connections ${peakConnections}`);
  console.log(`real caller meanwhile: ${served} served, ${failed} failed; latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
  process.exit(closes.length === CONNECTIONS && failed === 0 ? 0 : 1);
}
