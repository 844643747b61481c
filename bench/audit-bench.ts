// npm run bench:audit: the auditor API at ten million events on a real PostgreSQL. Seeds the log
// inside the server, then measures filtered queries (p50/p99), export throughput with the
// server's RSS, and verification throughput over a sealed range. Prints PASS/FAIL per target.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { startOidcIssuer } from '../src/sandbox/oidc-issuer.js';
import { migrate } from '../src/store/migrate.js';
import { createPostgresStore } from '../src/store/postgres-store.js';
import { runSqlOnce, urlForDatabase } from '../src/store/run-sql.js';
import { eventMacKeyBytes, parseConfig } from '../src/config/load-config.js';
import { databaseName, macSeededEvents, SEED, seedAuditEvents, subjectName } from './audit-seed.js';

const envInt = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const ROWS = envInt('BENCH_AUDIT_ROWS', 10_000_000);
const QUERIES = envInt('BENCH_AUDIT_QUERIES', 200);
const VERIFY_ROWS = envInt('BENCH_AUDIT_VERIFY_ROWS', 1_000_000);
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Seeding ten million rows takes minutes: name a database to keep it and to reuse it next time.
const KEEP = process.env.BENCH_AUDIT_DATABASE;
const BENCH_FINGERPRINT_KEY = 'b3'.repeat(32);
const started = Date.now();
const progress = (line: string) => console.error(`bench:audit +${((Date.now() - started) / 1000).toFixed(0)}s: ${line}`);
const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)] as T;
const hot = (n: number) => Math.floor(Math.random() ** 2 * n);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function timeQueries(app: FastifyInstance, bearer: string, makeUrl: () => string): Promise<{ p50: number; p99: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  // A short warm-up (JIT, plan cache, the first index pages) that is not counted.
  for (let i = 0; i < 20; i++) await app.inject({ method: 'GET', url: makeUrl(), headers: { authorization: `Bearer ${bearer}` } });
  for (let i = 0; i < QUERIES; i++) {
    const t0 = process.hrtime.bigint();
    const res = await app.inject({ method: 'GET', url: makeUrl(), headers: { authorization: `Bearer ${bearer}` } });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.statusCode !== 200) throw new Error(`${makeUrl()} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    rows += (res.json().items as unknown[]).length;
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), rows: rows / QUERIES };
}

// The reader runs in a child process, so the RSS sampled here is the serving side's alone.
const READER = `let n = 0; const res = await fetch(process.env.URL, { headers: { authorization: 'Bearer ' + process.env.BEARER } });
if (res.status !== 200) { console.error('export answered ' + res.status); process.exit(1); }
for await (const chunk of res.body) for (const byte of chunk) if (byte === 10) n++;
console.log(n);`;

async function timedExport(url: string, bearer: string): Promise<{ rows: number; seconds: number; peak: number }> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => void (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const t0 = Date.now();
  try {
    const child = spawn(process.execPath, ['--input-type=module', '-e', READER], { env: { ...process.env, URL: url, BEARER: bearer }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`the export reader exited with ${code}`);
    return { rows: Number(out.trim()), seconds: (Date.now() - t0) / 1000, peak };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<number> {
  const name = KEEP ?? `dab_audit_bench_${randomBytes(5).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`BENCH_AUDIT_DATABASE must be a plain lower-case identifier, not ${name}`);
  await runSqlOnce(SERVER, `CREATE DATABASE ${name}`).catch((err: Error) => {
    if (!KEEP || !/already exists/.test(err.message)) throw err;
  });
  // Seeding statements run long: this store is the bench's own, not dab's runtime pool.
  const store = createPostgresStore({ url: urlForDatabase(SERVER, name), poolMax: 4, connectionTimeoutMs: 5000, statementTimeoutMs: 600_000, onPoolError: () => undefined });
  const issuer = await startOidcIssuer();
  let app: FastifyInstance | undefined;
  try {
    await migrate(store);
    const { rows: present } = await store.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_events');
    const reused = Number(present[0]?.n ?? 0) >= ROWS;
    if (!reused && Number(present[0]?.n ?? 0) > 0) throw new Error(`${name} holds ${present[0]?.n} events, not ${ROWS}: drop it or name another database`);
    if (!reused) progress(`seeding ${ROWS.toLocaleString('en')} events into ${name}`);
    const seedRate = reused ? NaN : await seedAuditEvents(store, ROWS, progress);
    const config = parseConfig({
      logLevel: 'warn',
      auth: { issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl }], auditors: [{ issuer: issuer.issuer, subject: 'auditor' }] },
      // Fixed, so a kept database's seeded MACs stay dab's across runs (a bench key, nothing else).
      audit: { fingerprintKey: BENCH_FINGERPRINT_KEY, sealIntervalSeconds: 0, sealBatchSize: 10_000 },
    });
    await macSeededEvents(store, eventMacKeyBytes(config.audit), VERIFY_ROWS, progress);
    app = await buildApp(config, { store, assumeRole: async () => Promise.reject(new Error('not used')) });
    await app.ready();
    const bearer = await issuer.sign({ sub: 'auditor' }, { expiresIn: '2h' });
    const { rows: grantRows } = await store.query<{ event_id: string; occurred_at: Date; database_name: string; db_user: string }>(
      "SELECT event_id, occurred_at, database_name, db_user FROM audit_events TABLESAMPLE SYSTEM (0.05) WHERE event_type = 'credential.issued' LIMIT 2000",
    );
    const windowStart = SEED.end.getTime() - SEED.days * 86_400_000;
    const instant = () => new Date(windowStart + Math.random() * SEED.days * 86_400_000);

    progress('timing filtered queries');
    const queries = {
      'by subject (newest 100)': await timeQueries(app, bearer, () => `/v1/audit/events?subject=${subjectName(hot(SEED.subjects))}&limit=100`),
      'by database + 1 h range': await timeQueries(app, bearer, () => {
        const from = instant();
        return `/v1/audit/events?database=${databaseName(hot(SEED.databases))}&from=${from.toISOString()}&to=${new Date(from.getTime() + 3_600_000).toISOString()}&limit=100`;
      }),
      'by grant id': await timeQueries(app, bearer, () => `/v1/audit/events?grantId=${pick(grantRows).event_id}`),
      'who held it (db user, instant)': await timeQueries(app, bearer, () => {
        const row = pick(grantRows);
        return `/v1/audit/holders?database=${row.database_name}&dbUser=${row.db_user}&at=${new Date(new Date(row.occurred_at).getTime() + 60_000).toISOString()}`;
      }),
    };

    progress('exporting one, nine and eighteen days of the log as NDJSON (client in its own process)');
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const day = (n: number) => new Date(windowStart + n * 86_400_000).toISOString();
    global.gc?.();
    const baseline = process.memoryUsage.rss();
    const small = await timedExport(`${address}/v1/audit/export?format=ndjson&from=${day(40)}&to=${day(41)}`, bearer);
    const large = await timedExport(`${address}/v1/audit/export?format=ndjson&from=${day(40)}&to=${day(49)}`, bearer);
    const larger = await timedExport(`${address}/v1/audit/export?format=ndjson&from=${day(40)}&to=${day(58)}`, bearer);

    progress(`sealing the first ${VERIFY_ROWS.toLocaleString('en')} events, then verifying them`);
    const sealStart = Date.now();
    let sealed = 0;
    while (sealed < VERIFY_ROWS) {
      const round = await app.auditSealer.sealNow(0);
      if (!round.events) break;
      sealed += round.events;
    }
    const sealSeconds = (Date.now() - sealStart) / 1000;
    const v0 = Date.now();
    // The range whose rows carry dab's MAC (macSeededEvents); a sealing round may have gone past it.
    const verify = await app.inject({ method: 'GET', url: `/v1/audit/verify?toId=${Math.min(sealed, VERIFY_ROWS)}`, headers: { authorization: `Bearer ${bearer}` } });
    const verifySeconds = (Date.now() - v0) / 1000;
    const verified = verify.json() as { ok: boolean; checkedEvents: number };

    const rowsPerSecond = large.rows / large.seconds;
    // Flat: memory must stop growing with the rows. V8 grows its heap lazily at first, so the test
    // is that twice the rows (eighteen days against nine) need no noticeably more than nine did.
    const flat = larger.peak <= large.peak + 32 * 1048576;
    const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
    const lines = [
      '',
      'dab audit bench',
      `  store     postgres, database ${name}: ${ROWS.toLocaleString('en')} events ${Number.isNaN(seedRate) ? 'reused (seeded earlier)' : `seeded (${Math.round(seedRate).toLocaleString('en')}/s)`}, ${SEED.subjects} subjects, ${SEED.databases} databases, ${SEED.days} days`,
      `  queries   ${QUERIES} each through dab's HTTP layer (inject), random parameters, hot keys skewed like real traffic`,
      '',
      '  query                               p50 ms   p99 ms   rows/answer   target p99 < 50 ms',
      ...Object.entries(queries).map(([label, q]) => `  ${label.padEnd(34)} ${q.p50.toFixed(1).padStart(7)}  ${q.p99.toFixed(1).padStart(7)}  ${q.rows.toFixed(1).padStart(12)}   ${q.p99 < 50 ? 'PASS' : 'FAIL'}`),
      '',
      `  export    ${large.rows.toLocaleString('en')} events as NDJSON in ${large.seconds.toFixed(1)} s = ${Math.round(rowsPerSecond).toLocaleString('en')} rows/s   target >= 50,000   ${rowsPerSecond >= 50_000 ? 'PASS' : 'FAIL'}`,
      `            peak RSS of the serving process over its ${mib(baseline)} baseline: +${mib(small.peak - baseline)} after ${small.rows.toLocaleString('en')} rows, +${mib(large.peak - baseline)} after ${large.rows.toLocaleString('en')}, +${mib(larger.peak - baseline)} after ${larger.rows.toLocaleString('en')}   flat (2x rows, < +32 MiB more): ${flat ? 'PASS' : 'FAIL'}`,
      `  sealing   ${sealed.toLocaleString('en')} events in ${sealSeconds.toFixed(1)} s = ${Math.round(sealed / sealSeconds).toLocaleString('en')} events/s`,
      `  verify    ${verified.checkedEvents.toLocaleString('en')} events in ${verifySeconds.toFixed(1)} s = ${Math.round(verified.checkedEvents / verifySeconds).toLocaleString('en')} events/s, intact: ${verified.ok}`,
    ];
    console.log(lines.join('\n'));
    const failed = Object.values(queries).some((q) => q.p99 >= 50) || rowsPerSecond < 50_000 || !flat || !verified.ok;
    return failed ? 1 : 0;
  } finally {
    await app?.close();
    await issuer.close();
    await store.close();
    if (!KEEP) await runSqlOnce(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}

process.exitCode = await main().catch((err: Error) => {
  console.error(`bench:audit: ${err.message}`);
  return 1;
});
