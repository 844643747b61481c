// npm run bench:replicas: 1, 2 and 3 `dab serve` processes on one real PostgreSQL behind a loopback
// round-robin proxy, under npm run bench's load (distinct mix); then how fast a mapping change made
// through one replica is enforced by the others, kill -9 and SIGTERM of one replica under a retrying
// client's load, and dab's verify over the chain every replica wrote and sealed. Figures on stdout.
import { join } from 'node:path';
import { loadavg } from 'node:os';
import pg from 'pg';
import { runSqlOnce } from '../src/store/run-sql.js';
import { createBenchDatabase, planDistinct, registerBenchFixtures, startBenchSurroundings, writeLoadConfig } from './bench-fixtures.js';
import { createCleanupStack } from './cleanup-stack.js';
import { LEAN_FLOOR_TABLE_SQL } from './floor-server.js';
import { startLoadGenerator } from './load-protocol.js';
import { cpuMicros, createStoreCpu, forkProxy, startReplicas, type Replica } from './replica-fleet.js';
import { measurePropagation, underDisruption, verifyChain } from './replica-phases.js';
import { printReplicaReport, type CountFigures } from './replicas-report.js';
import { dabServeEnv, forkFloor } from './server-process.js';
import { envInt } from './bench-env.js';

const SECONDS = envInt('BENCH_SECONDS', 5);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const DISTINCT_CALLERS = envInt('BENCH_DISTINCT_CALLERS', 3000);
const CHANGES = envInt('BENCH_PROPAGATION_CHANGES', 50);
const DISRUPT_SECONDS = envInt('BENCH_DISRUPT_SECONDS', 6);
const AUDITOR = 'auditor-bench';
const NAMES = ['dab-a', 'dab-b', 'dab-c'];

const started = Date.now();
const progress = (what: string) => console.error(`bench:replicas +${((Date.now() - started) / 1000).toFixed(1)}s: ${what}`);
const { onCleanup, cleanUp } = createCleanupStack();

async function main(serverUrl: string): Promise<boolean> {
  const loadAtStart = loadavg();
  const db = await createBenchDatabase(serverUrl);
  onCleanup(() => db.remove());
  const { workDir, sts, issuer } = await startBenchSurroundings(onCleanup, 'dab-replicas-');
  await runSqlOnce(db.url, LEAN_FLOOR_TABLE_SQL);
  // Limits out of the way (writeLoadConfig); sealing every second: all replicas seal at once, often.
  const configFile = await writeLoadConfig(workDir);
  const env = {
    ...dabServeEnv({ workDir, port: 0, issuer, sts }),
    DATABASE_URL: db.url,
    DAB_CONFIG: configFile,
    DAB_AUDITORS: JSON.stringify([{ issuer: issuer.issuer, subject: AUDITOR }]),
    DAB_AUDIT_SEAL_INTERVAL_SECONDS: '1',
  };
  progress('starting 3 dab serve processes on one store');
  const replicas = await startReplicas({ names: NAMES, env, workDir, register: (p) => onCleanup(() => p.stop()) });
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const proxy = await forkProxy([{ name: a.name, port: a.port }]);
  onCleanup(() => proxy.stop());
  const floor = await forkFloor({
    name: 'lean floor',
    script: new URL('./floor-main.js', import.meta.url),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FLOOR_KIND: 'lean', DATABASE_URL: db.url, FLOOR_ISSUER: issuer.issuer, FLOOR_JWKS_URL: issuer.jwksUrl },
    logFile: join(workDir, 'lean.log'),
    register: (p) => onCleanup(() => p.stop()),
  });

  progress(`registering ${DISTINCT_CALLERS} distinct callers through ${a.name}`);
  const entries = (await registerBenchFixtures(a.proc.url, issuer, [planDistinct(DISTINCT_CALLERS)], progress))[0]!;
  const counter = new pg.Client({ connectionString: db.url, application_name: 'dab-bench-counter' });
  await counter.connect();
  onCleanup(() => counter.end());
  const storeCpu = createStoreCpu(counter);
  const generator = startLoadGenerator();
  onCleanup(() => generator.close());
  generator.setEntries(entries);

  progress('lean floor, one process, for the machine\'s ceiling');
  await generator.run({ url: floor.url, path: '/v1/credentials', connections: CONNECTIONS, seconds: 2 });
  const floorRun = await generator.run({ url: floor.url, path: '/v1/credentials', connections: CONNECTIONS, seconds: SECONDS });
  await floor.stop();

  // Every replica keeps its own STS sessions: each is sent every variant once, straight (not
  // through the proxy, whose connection-level rotation would leave some variants unsent), so the
  // runs measure long-running replicas, not their first minute's AssumeRole misses.
  for (const r of replicas) {
    progress(`warming ${r.name}: every variant once`);
    await generator.run({ url: r.proc.url, path: '/v1/credentials', connections: CONNECTIONS, seconds: 1, minRequests: entries.length });
  }
  const counts: CountFigures[] = [];
  for (const n of [1, 2, 3]) {
    const active = replicas.slice(0, n);
    await proxy.setBackends(active.map((r) => ({ name: r.name, port: r.port })));
    progress(`${n} replica(s): warming through the proxy`);
    await generator.run({ url: proxy.url, path: '/v1/credentials', connections: CONNECTIONS, seconds: 2 });
    const connectionsBefore = await proxy.stats();
    const stsBefore = sts.assumeRoleCalls;
    const runs: CountFigures['runs'] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      progress(`${n} replica(s): round ${r}/${ROUNDS}`);
      const dabBefore = active.map((x) => x.proc.usage().cpuMicros);
      const proxyBefore = cpuMicros(proxy.pid) ?? 0;
      const storeBefore = await storeCpu.snapshot();
      const run = await generator.run({ url: proxy.url, path: '/v1/credentials', connections: CONNECTIONS, seconds: SECONDS });
      runs.push({
        run,
        dabCpuMicros: active.map((x, i) => x.proc.usage().cpuMicros - dabBefore[i]!),
        storeCpuMicros: await storeCpu.since(storeBefore),
        proxyCpuMicros: (cpuMicros(proxy.pid) ?? 0) - proxyBefore,
      });
    }
    const connectionsAfter = await proxy.stats();
    const connections = active.map((r) => (connectionsAfter[r.name]?.connections ?? 0) - (connectionsBefore[r.name]?.connections ?? 0));
    counts.push({ replicas: n, runs, assumeRoleInRuns: sts.assumeRoleCalls - stsBefore, connections });
  }

  // Every replica wrote audit rows (its group commits) while the others did: from their own /metrics.
  const rowsWritten = Object.fromEntries(await Promise.all(replicas.map(async (r) => [r.name, await auditRowsWritten(r)] as const)));

  progress(`propagation: ${CHANGES} mapping changes through ${a.name}, enforced by ${b.name} and ${c.name}`);
  const adminToken = await issuer.sign({ sub: 'dba-bench' }, { expiresIn: '1h' });
  const propagation = await measurePropagation({ a, others: [b, c], issuer, adminToken, changes: CHANGES });

  await proxy.setBackends(replicas.map((r) => ({ name: r.name, port: r.port })));
  progress(`kill -9 ${c.name} under a retrying client's load (${DISRUPT_SECONDS} s)`);
  const killed = await underDisruption({
    what: `kill -9 ${c.name}`,
    proxy,
    target: c,
    entries: entries,
    counter,
    durationMs: DISRUPT_SECONDS * 1000,
    concurrency: 16,
    disrupt: async (r) => void process.kill(r.proc.pid, 'SIGKILL'),
  });
  progress(`SIGTERM ${b.name} under a retrying client's load (${DISRUPT_SECONDS} s)`);
  const terminated = await underDisruption({
    what: `SIGTERM ${b.name}`,
    proxy,
    target: b,
    entries: entries,
    counter,
    durationMs: DISRUPT_SECONDS * 1000,
    concurrency: 16,
    disrupt: (r) => r.proc.stop(),
  });

  progress(`verifying the chain through ${a.name}`);
  const auditorToken = await issuer.sign({ sub: AUDITOR }, { expiresIn: '1h' });
  const chain = await verifyChain(a, auditorToken, counter);
  progress('done; cleaning up');
  return printReplicaReport({
    storeLabel: db.label,
    loadAtStart,
    loadAtEnd: loadavg(),
    connections: CONNECTIONS,
    seconds: SECONDS,
    callers: DISTINCT_CALLERS,
    floor: floorRun,
    counts,
    propagation,
    disruptions: [killed, terminated],
    chain,
    rowsWritten,
  });
}

async function auditRowsWritten(r: Replica): Promise<number> {
  const text = await (await fetch(`${r.proc.url}/metrics`)).text();
  return Number(/^dab_audit_batch_rows_sum\{result="ok"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench:replicas: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

if (!process.env.DATABASE_URL) {
  console.error(
    'npm run bench:replicas needs DATABASE_URL: a PostgreSQL server on which it may create (and afterwards drop) a database, e.g.\n' +
      '  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:replicas\n' +
      'Replicas share one store; the embedded store lives inside one process and cannot be shared.',
  );
  process.exit(2);
}

let exitCode = 1;
try {
  exitCode = (await main(process.env.DATABASE_URL)) ? 0 : 1;
} catch (err) {
  if (!interrupted) console.error(`bench:replicas failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanUp();
}
process.exit(interrupted ? 130 : exitCode);
