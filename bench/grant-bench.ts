// npm run bench: the grant path under load next to its floor (same HTTP + JWT + one audit INSERT),
// in one run, on the store DATABASE_URL names or else the embedded one. See bench-report.ts for targets.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createAssumeRole } from '../src/aws/sts-client.js';
import { parseConfig } from '../src/config/load-config.js';
import { startOidcIssuer } from '../src/sandbox/oidc-issuer.js';
import { startStsEmulator } from '../src/sandbox/sts-emulator.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { ADMIN_SUBJECT, addBenchRoles, benchStoreLocation, registerBenchFixtures } from './bench-fixtures.js';
import { printReport, ratioOf, type BenchRound } from './bench-report.js';
import { buildFloorServer } from './floor-server.js';
import { runLoad, type LoadResult } from './load-protocol.js';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return Number(raw);
}

const SECONDS = envInt('BENCH_SECONDS', 5);
const ROUNDS = envInt('BENCH_ROUNDS', 6);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const WARMUP_SECONDS = 2;
const CALLERS = 200;

// Progress goes to stderr, so stdout carries only the summary.
const started = Date.now();
const progress = (what: string) => console.error(`bench +${((Date.now() - started) / 1000).toFixed(1)}s: ${what}`);

// Run order. Both servers are warmed first (JIT, JWKS caches, STS sessions, pg pool), then measured
// in rounds that alternate which goes first (floor-broker, broker-floor, …). On a shared 2-core
// machine throughput drifts and jumps by tens of percent from one ten-second stretch to the next;
// a ratio taken from two runs side by side, in alternating order, cancels most of that, and the
// median of the rounds' ratios is not moved by one bad stretch.
const ORDER = 'warm floor, warm broker, then rounds alternating floor→broker and broker→floor';

// Everything started is undone in reverse order, on success, failure or Ctrl-C.
const cleanups: Array<() => unknown> = [];
const onCleanup = (fn: () => unknown): void => void cleanups.push(fn);
let cleaningUp: Promise<void> | undefined;
// One cleanup however often asked (a signal can arrive while main is already cleaning up).
function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    while (cleanups.length) {
      try {
        await cleanups.pop()!();
      } catch (err) {
        console.error(`bench cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaningUp;
}

async function listen(app: FastifyInstance): Promise<string> {
  onCleanup(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/**
 * One load phase, with the peak resident set size (sampled every 100 ms, plus once at each end) and
 * the CPU time this process spent while it ran (dab and the floor both live here).
 */
async function measured(fn: () => Promise<LoadResult>): Promise<{ run: LoadResult; peakRss: number; cpuMicros: number }> {
  let peakRss = process.memoryUsage.rss();
  const timer = setInterval(() => void (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
  const cpuBefore = process.cpuUsage();
  try {
    const run = await fn();
    const cpu = process.cpuUsage(cpuBefore);
    return { run, peakRss: Math.max(peakRss, process.memoryUsage.rss()), cpuMicros: cpu.user + cpu.system };
  } finally {
    clearInterval(timer);
  }
}

async function countRows(store: Store, sql: string): Promise<number> {
  const { rows } = await store.query<{ n: number }>(sql);
  return Number(rows[0]?.n ?? 0);
}
const countIssued = (store: Store) => countRows(store, "SELECT count(*)::int AS n FROM audit_events WHERE event_type = 'credential.issued'");
const countPairs = (store: Store) =>
  countRows(store, "SELECT count(DISTINCT (actor_issuer, actor_subject, role_arn))::int AS n FROM audit_events WHERE event_type = 'credential.issued'");

/** dab's own count of tokens signed and reused within their signing second (its /metrics). */
async function tokenCounts(brokerUrl: string): Promise<{ signed: number; reused: number }> {
  const text = await (await fetch(`${brokerUrl}/metrics`)).text();
  const count = (source: string) => Number(new RegExp(`^dab_rds_tokens_total\\{source="${source}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { signed: count('signed'), reused: count('reused') };
}

async function main(): Promise<boolean> {
  const location = await benchStoreLocation(process.env.DATABASE_URL || undefined);
  onCleanup(() => location.remove());
  const sts = await startStsEmulator();
  onCleanup(() => sts.close());
  addBenchRoles(sts);
  const issuer = await startOidcIssuer();
  onCleanup(() => issuer.close());

  const config = parseConfig({
    // warn, not info: the bench measures the grant path, not per-request log I/O.
    logLevel: 'warn',
    store: location.storeConfig,
    auth: {
      issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl, algorithms: ['RS256'] }],
      admins: [{ issuer: issuer.issuer, subject: ADMIN_SUBJECT }],
    },
    sts: { region: 'us-east-1', endpoint: sts.url },
    audit: { fingerprintKey: randomBytes(32).toString('hex') },
  });
  // Opened from dab's own config, so the pool size and timeouts are what the server would use.
  // pg's pool.end() resolves before its sockets close, so dropping the bench database can still
  // kill a closing connection: expected during cleanup, worth a line at any other time.
  const store = await openStore(config.store, (err) => void (cleaningUp ?? console.error(`bench store pool error: ${err.message}`)));
  onCleanup(() => store.close());
  await migrate(store);
  const aws = createAssumeRole(config.sts, sts.baseCredentials);
  onCleanup(() => aws.destroy());

  const brokerUrl = await listen(await buildApp(config, { store, assumeRole: aws.assumeRole }));
  const floorUrl = await listen(await buildFloorServer(config, store));
  progress('registering databases, mappings and callers');
  const { entries, callers } = await registerBenchFixtures(brokerUrl, issuer, CALLERS);

  const load = (url: string, seconds: number, what: string, minRequests = 0): Promise<LoadResult> => {
    progress(`${what} (${seconds} s)`);
    return runLoad({ url, path: '/v1/credentials', entries, connections: CONNECTIONS, seconds, minRequests }, onCleanup);
  };
  // Warm-ups send every variant at least once, so the measured broker run finds every STS session
  // cached, as a long-running dab would: it measures the steady state, not the first hour's misses.
  const warmFloor = await load(floorUrl, WARMUP_SECONDS, 'warming the floor', entries.length);
  const warmBroker = await load(brokerUrl, WARMUP_SECONDS, 'warming the broker', entries.length);
  // Every request the generator sent was answered before it reports (see load-generator.ts), and
  // dab commits a grant's row before answering, so the difference is exactly the broker runs' rows.
  const issuedBefore = await countIssued(store);
  const tokensBefore = await tokenCounts(brokerUrl);
  const rounds: BenchRound[] = [];
  let peakRss = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const measureFloor = () => measured(() => load(floorUrl, SECONDS, `round ${r}/${ROUNDS}: measuring the floor`));
    const measureBroker = async () => {
      const m = await measured(() => load(brokerUrl, SECONDS, `round ${r}/${ROUNDS}: measuring the broker`));
      peakRss = Math.max(peakRss, m.peakRss);
      return m;
    };
    // Odd rounds measure the floor first, even rounds the broker.
    const floorFirst = r % 2 === 1;
    const first = await (floorFirst ? measureFloor() : measureBroker());
    const second = await (floorFirst ? measureBroker() : measureFloor());
    const [floor, broker] = floorFirst ? [first, second] : [second, first];
    rounds.push({ floor: floor.run, broker: broker.run, floorCpuMicros: floor.cpuMicros, brokerCpuMicros: broker.cpuMicros });
    progress(`round ${r}/${ROUNDS}: broker/floor ${ratioOf(broker.run, floor.run).toFixed(2)}`);
  }
  const issuedRows = (await countIssued(store)) - issuedBefore;
  const tokensAfter = await tokenCounts(brokerUrl);
  progress('done; cleaning up');

  return printReport({
    storeLabel: location.label,
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    callers,
    variants: entries.length,
    order: ORDER,
    rounds,
    warmFloor,
    warmBroker,
    peakRssBytes: peakRss,
    rssNote:
      store.kind === 'embedded'
        ? 'RSS of the bench process, which dab runs inside: it also holds the floor server, STS emulator, OIDC issuer and the embedded PGlite store.'
        : 'RSS of the bench process, which dab runs inside: it also holds the floor server, STS emulator and OIDC issuer (PostgreSQL is not included).',
    assumeRoleCalls: sts.assumeRoleCalls,
    pairs: await countPairs(store),
    issuedRows,
    tokens: { signed: tokensAfter.signed - tokensBefore.signed, reused: tokensAfter.reused - tokensBefore.reused },
  });
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

let exitCode = 1;
try {
  exitCode = (await main()) ? 1 : 0;
} catch (err) {
  // After a signal, the phase that was running fails as its child is killed: not news.
  if (!interrupted) console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanUp();
}
// Explicit exit: a keep-alive socket left in some client's pool must not keep `npm run bench` waiting.
process.exit(interrupted ? 130 : exitCode);
