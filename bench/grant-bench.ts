// npm run bench: dab's grant path under load, measured from outside, next to a lean floor (the
// cheapest audited credentials endpoint) and an audit floor (the same, writing into dab's own
// audit table), each server in its own process, over two caller mixes. See bench-report.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { runSqlOnce } from '../src/store/run-sql.js';
import { createBenchDatabase, planDistinct, planRepeating, registerBenchFixtures, startBenchSurroundings, type MixPlan } from './bench-fixtures.js';
import { createCleanupStack } from './cleanup-stack.js';
import { printReport, SERVER_LABEL, throughputRatio, type BenchRound, type Measured, type MixFigures, type ServerName } from './bench-report.js';
import { LEAN_FLOOR_TABLE_SQL } from './floor-server.js';
import { startLoadGenerator, type LoadResult } from './load-protocol.js';
import { benchNodeOptions } from './deployed-runtime.js';
import { dabServeEnv, forkFloor, freePort, spawnDab, type ServerProcess } from './server-process.js';
import { envInt } from './bench-env.js';

const SECONDS = envInt('BENCH_SECONDS', 5);
const ROUNDS = envInt('BENCH_ROUNDS', 4);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const DISTINCT_CALLERS = envInt('BENCH_DISTINCT_CALLERS', 6000);
const REPEATING_CALLERS = envInt('BENCH_REPEATING_CALLERS', 200);
const MIXES = (process.env.BENCH_MIXES || 'distinct,repeating').split(',').map((m) => m.trim());
const WARMUP_SECONDS = 2;

// Progress goes to stderr, so stdout carries only the summary.
const started = Date.now();
const progress = (what: string) => console.error(`bench +${((Date.now() - started) / 1000).toFixed(1)}s: ${what}`);

// dab sits between the two floors and they swap sides each round: on a shared 2-core machine
// throughput drifts and jumps by tens of percent from one stretch to the next; neighbours in
// alternating order cancel most of it, and the median of the rounds' ratios ignores one bad stretch.
const roundOrder = (r: number): ServerName[] => (r % 2 === 1 ? ['lean', 'broker', 'audit'] : ['audit', 'broker', 'lean']);
const ORDER = 'per mix: warm each server, then rounds lean→dab→audit and audit→dab→lean alternately';

// Everything started is undone in reverse order, on success, failure or Ctrl-C.
const { onCleanup, cleanUp } = createCleanupStack();

interface DabCounts {
  signed: number;
  reused: number;
  /** Audit rows and group-commit INSERTs that committed (dab_audit_batch_rows, result="ok"). */
  batchRows: number;
  batches: number;
}

/** dab's own counters from its /metrics: tokens signed and reused within their signing second, audit batches. */
async function dabCounts(dabUrl: string): Promise<DabCounts> {
  const text = await (await fetch(`${dabUrl}/metrics`)).text();
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    signed: value('dab_rds_tokens_total{source="signed"}'),
    reused: value('dab_rds_tokens_total{source="reused"}'),
    batchRows: value('dab_audit_batch_rows_sum{result="ok"}'),
    batches: value('dab_audit_batch_rows_count{result="ok"}'),
  };
}

interface Mix {
  name: string;
  description: string;
  judged: boolean;
  plan: MixPlan;
}

function chosenMixes(): Mix[] {
  const known: Mix[] = [
    {
      name: 'distinct',
      description: 'every caller its own subject, STS session and request; no token can be reused within its signing second',
      judged: true,
      plan: planDistinct(DISTINCT_CALLERS),
    },
    {
      name: 'repeating',
      description: 'callers with one to three variants each, coming round several times a second (today\'s estate-like mix)',
      judged: false,
      plan: planRepeating(REPEATING_CALLERS),
    },
  ];
  const unknown = MIXES.filter((m) => !known.some((k) => k.name === m));
  if (unknown.length || MIXES.length === 0) throw new Error(`BENCH_MIXES: expected distinct and/or repeating, got "${MIXES.join(',')}"`);
  return known.filter((k) => MIXES.includes(k.name));
}

async function main(serverUrl: string): Promise<{ hardFailure: boolean; targetMissed: boolean }> {
  const mixes = chosenMixes();
  const db = await createBenchDatabase(serverUrl);
  onCleanup(() => db.remove());
  const { workDir, sts, issuer } = await startBenchSurroundings(onCleanup, 'dab-bench-');
  await runSqlOnce(db.url, LEAN_FLOOR_TABLE_SQL);

  // Node's heap sizing as deployed: without a flag, V8 sizes the heap for this 24 GiB machine and
  // lets garbage grow to 4x the live set before collecting it; in a 512 MiB pod it would not.
  const runtime = benchNodeOptions();
  const runtimeEnv: Record<string, string> = runtime.value ? { NODE_OPTIONS: runtime.value } : {};
  progress(`starting dab serve (NODE_OPTIONS ${runtime.value ? `"${runtime.value}"` : 'none'}, from ${runtime.source})`);
  const port = await freePort();
  // dab at its defaults: only the store, the issuer (and one admin, to register fixtures), the STS
  // endpoint and region, the fingerprint key and the AWS credentials are set. Nothing inherited:
  // no DAB_* or AWS_* setting of the shell running the bench leaks in, nor ~/.aws files.
  // One exception, in a config file: the per-identity rate limit (10 grants/s after a burst of 120)
  // is raised, because the repeating mix sends each of its 200 callers that much on purpose. The
  // buckets still run on every grant, so their cost is measured; the distinct mix's callers send
  // under 1 grant/s each and would never meet the default limit anyway.
  const configFile = join(workDir, 'dab-bench.json');
  // BENCH_DAB_TOKEN_CACHE=off: dab verifies every JWT's signature, as the floors do (README: Benchmark).
  const tokenCache = process.env.BENCH_DAB_TOKEN_CACHE === 'off' ? { auth: { verifiedTokenCache: { maxEntries: 0 } } } : {};
  // The mint budget likewise (150 new logins/s per endpoint by default; the load is far above it on
  // purpose): raised, so its buckets run on every grant and their cost is measured;
  // BENCH_DAB_MINT_BUDGET=off turns it off, to measure that cost by difference (README: Benchmark).
  const mintBudget = process.env.BENCH_DAB_MINT_BUDGET === 'off' ? { enabled: false } : { perSecond: 100_000, burst: 1_000_000 };
  await writeFile(configFile, JSON.stringify({ rateLimit: { caller: { burst: 1_000_000, perSecond: 100_000 } }, mintBudget, ...tokenCache }));
  const dab = await spawnDab({
    mainJs: new URL('../src/cli/main.js', import.meta.url).pathname,
    port,
    logFile: join(workDir, 'dab.log'),
    register: (p) => onCleanup(() => p.stop()),
    env: {
      ...dabServeEnv({ workDir, port, issuer, sts }),
      DATABASE_URL: db.url,
      DAB_CONFIG: configFile,
      ...runtimeEnv,
    },
  });
  // Forked after dab is ready, so dab's migrations have created audit_events for the audit floor.
  const floorEnv = (kind: 'lean' | 'audit') => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    FLOOR_KIND: kind,
    DATABASE_URL: db.url,
    FLOOR_ISSUER: issuer.issuer,
    FLOOR_JWKS_URL: issuer.jwksUrl,
    ...runtimeEnv,
  });
  const floorScript = new URL('./floor-main.js', import.meta.url);
  const servers: Record<ServerName, ServerProcess> = {
    broker: dab,
    lean: await forkFloor({ name: 'lean floor', script: floorScript, env: floorEnv('lean'), logFile: join(workDir, 'lean.log'), register: (p) => onCleanup(() => p.stop()) }),
    audit: await forkFloor({ name: 'audit floor', script: floorScript, env: floorEnv('audit'), logFile: join(workDir, 'audit.log'), register: (p) => onCleanup(() => p.stop()) }),
  };

  progress(`registering databases and the mappings of ${mixes.map((m) => `${m.plan.callers.length} ${m.name}`).join(' + ')} callers`);
  const entriesPerMix = await registerBenchFixtures(dab.url, issuer, mixes.map((m) => m.plan), progress);
  // The fixtures arrive as one access document of thousands of mappings (validated, diffed, its
  // impact computed): a DBA's one-off step whose peak is not the grant path's. Measured apart.
  const setupPeakRss = dab.usage().peakRssBytes;
  const peakReset = dab.resetPeakRss();

  const counter = new pg.Client({ connectionString: db.url, application_name: 'dab-bench-counter' });
  await counter.connect();
  onCleanup(() => counter.end());
  const count = async (sql: string) => Number((await counter.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
  const countIssued = () => count("SELECT count(*)::int AS n FROM audit_events WHERE event_type = 'credential.issued'");

  const generator = startLoadGenerator();
  onCleanup(() => generator.close());
  const figures: MixFigures[] = [];
  for (const [m, mix] of mixes.entries()) {
    const entries = entriesPerMix[m]!;
    generator.setEntries(entries);
    const load = (s: ServerName, seconds: number, what: string, minRequests = 0): Promise<LoadResult> => {
      progress(`${mix.name}: ${what} ${SERVER_LABEL[s]} (${seconds} s${minRequests ? `, ≥ ${minRequests} requests` : ''})`);
      return generator.run({ url: servers[s].url, path: '/v1/credentials', connections: CONNECTIONS, seconds, minRequests });
    };
    const measure = async (s: ServerName, what: string): Promise<Measured> => {
      const before = servers[s].usage().cpuMicros;
      const run = await load(s, SECONDS, what);
      return { run, cpuMicros: servers[s].usage().cpuMicros - before };
    };
    // Warm-ups: JIT, JWKS caches, pools. dab's also sends every variant at least once, so every STS
    // session is cached and the runs measure a long-running dab's steady state, not its first
    // hour's misses; the floors keep nothing per caller, so a few seconds warm them.
    const warm = {} as Record<ServerName, LoadResult>;
    for (const s of ['lean', 'broker', 'audit'] as const) warm[s] = await load(s, WARMUP_SECONDS, 'warming', s === 'broker' ? entries.length : 0);

    // Every request the generator sent was answered before it reports (see load-generator.ts), and
    // dab commits a grant's row before answering, so the difference is exactly the measured rows.
    const issuedBefore = await countIssued();
    const countsBefore = await dabCounts(dab.url);
    const callsBefore = sts.assumeRoleCalls;
    const rounds: BenchRound[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const order = roundOrder(r);
      const runs = {} as Record<ServerName, Measured>;
      for (const s of order) runs[s] = await measure(s, `round ${r}/${ROUNDS}: measuring`);
      rounds.push({ order, runs });
      progress(`${mix.name}: round ${r}/${ROUNDS}: dab/lean ${throughputRatio(runs.broker.run, runs.lean.run).toFixed(2)}, dab/audit ${throughputRatio(runs.broker.run, runs.audit.run).toFixed(2)}`);
    }
    const countsAfter = await dabCounts(dab.url);
    figures.push({
      name: mix.name,
      description: mix.description,
      judged: mix.judged,
      callers: mix.plan.callers.length,
      variants: entries.length,
      warm,
      rounds,
      issuedRows: (await countIssued()) - issuedBefore,
      tokens: { signed: countsAfter.signed - countsBefore.signed, reused: countsAfter.reused - countsBefore.reused },
      auditBatches: { rows: countsAfter.batchRows - countsBefore.batchRows, inserts: countsAfter.batches - countsBefore.batches },
      assumeRoleInRuns: sts.assumeRoleCalls - callsBefore,
    });
  }
  const pairs = await count("SELECT count(DISTINCT (actor_issuer, actor_subject, role_arn))::int AS n FROM audit_events WHERE event_type = 'credential.issued'");
  const dabUsage = dab.usage();
  const peakRss = { broker: dabUsage.peakRssBytes, lean: servers.lean.usage().peakRssBytes, audit: servers.audit.usage().peakRssBytes };
  progress('done; cleaning up');

  return printReport({
    storeLabel: db.label,
    runtime: `Node ${process.version}, NODE_OPTIONS ${runtime.value ? `"${runtime.value}"` : 'none'} (${runtime.source})`,
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    order: ORDER,
    mixes: figures,
    assumeRoleCalls: sts.assumeRoleCalls,
    pairs,
    peakRss,
    dabSetupPeakRss: peakReset ? setupPeakRss : undefined,
    dabFinalRss: dabUsage.rssBytes,
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

if (!process.env.DATABASE_URL) {
  console.error(
    'npm run bench needs DATABASE_URL: a PostgreSQL server on which it may create (and afterwards drop) a database, e.g.\n' +
      '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench\n' +
      'There is no embedded variant: the embedded store (PGlite) lives inside one process, so floors in their own\n' +
      'processes could not write to the same store, and the bench could not count its audit rows while dab runs.',
  );
  process.exit(2);
}

let exitCode = 1;
try {
  const { hardFailure, targetMissed } = await main(process.env.DATABASE_URL);
  // A speed miss fails the run only when asked (BENCH_STRICT=1): throughput on a shared machine is noisy.
  exitCode = hardFailure || (targetMissed && process.env.BENCH_STRICT === '1') ? 1 : 0;
} catch (err) {
  // After a signal, the phase that was running fails as its child is killed: not news.
  if (!interrupted) console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanUp();
}
// Explicit exit: a keep-alive socket left in some client's pool must not keep `npm run bench` waiting.
process.exit(interrupted ? 130 : exitCode);
