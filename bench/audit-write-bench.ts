// Audit rows/s on a real PostgreSQL: one INSERT per row (as before group commit) against the
// group-commit writer, each with the indexes before and after migration 008. Concurrent "grants"
// write credential.issued rows shaped like the grant path's, distinct callers, for a fixed time.
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/audit-write-bench.ts
// Knobs: BENCH_WRITERS (32), BENCH_SECONDS (5), BENCH_SEED_ROWS (50000), BENCH_POOL (10),
// BENCH_BATCH_ROWS (64) and BENCH_FLUSHES (1): the group-commit writer's, as dab's defaults.
import { randomBytes, randomUUID } from 'node:crypto';
import { insertAuditEvent, type AuditEvent } from '../src/audit/audit-repo.js';
import { createAuditWriter } from '../src/audit/audit-writer.js';
import { uuidV7 } from '../src/audit/uuid-v7.js';
import { bundledMigrations, migrate } from '../src/store/migrate.js';
import { createPostgresStore } from '../src/store/postgres-store.js';
import { runSqlOnce, urlForDatabase } from '../src/store/run-sql.js';
import type { Store } from '../src/store/store.js';
import { grantShapedEvent } from './grant-shaped-event.js';

const envInt = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const WRITERS = envInt('BENCH_WRITERS', 32);
const SECONDS = envInt('BENCH_SECONDS', 5);
const SEED_ROWS = envInt('BENCH_SEED_ROWS', 50_000);
const POOL = envInt('BENCH_POOL', 10);
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';


async function withDatabase<T>(latest: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const name = `dab_gc_bench_${randomBytes(4).toString('hex')}`;
  await runSqlOnce(SERVER, `CREATE DATABASE ${name}`);
  const store = createPostgresStore({ url: urlForDatabase(SERVER, name), poolMax: POOL, connectionTimeoutMs: 10_000, statementTimeoutMs: 300_000, onPoolError: () => undefined });
  try {
    await migrate(store, bundledMigrations().filter((m) => latest || m.version < 8));
    // A table that is not empty, so random-key indexes are bigger than a few pages.
    await store.exec(`INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, request_id, actor_issuer, actor_subject,
        database_name, db_user, access_key_id, token_fingerprint, expires_at)
      SELECT gen_random_uuid(), now() - interval '1 day' + g * interval '1 ms', 'credential.issued', 'issued', 'mapping_allows', gen_random_uuid()::text,
        'https://idp.example', 'caller-' || g, 'db-' || g % 20, 'user_' || g % 20, 'ASIA' || lpad((g % 500)::text, 16, '0'),
        'hmac-sha256:' || encode(sha256(g::text::bytea), 'hex'), now() FROM generate_series(1, ${SEED_ROWS}) g;
      ANALYZE audit_events;`);
    return await fn(store);
  } finally {
    await store.close();
    await runSqlOnce(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

async function drive(write: (e: AuditEvent) => Promise<void>, id: () => string): Promise<{ rowsPerSecond: number; p99: number }> {
  const until = Date.now() + SECONDS * 1000;
  const latencies: number[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    while (Date.now() < until) {
      const t0 = performance.now();
      await write(grantShapedEvent(id, n++));
      latencies.push(performance.now() - t0);
    }
  }));
  latencies.sort((a, b) => a - b);
  return { rowsPerSecond: latencies.length / SECONDS, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN };
}

const variants: { name: string; latest: boolean; id: () => string; batched: boolean }[] = [
  { name: 'single-row, v4 ids, indexes before 008', latest: false, id: randomUUID, batched: false },
  { name: 'single-row, v7 ids, indexes of 008', latest: true, id: uuidV7, batched: false },
  { name: 'group commit, v4 ids, indexes before 008', latest: false, id: randomUUID, batched: true },
  { name: 'group commit, v7 ids, indexes of 008', latest: true, id: uuidV7, batched: true },
];
const results: Record<string, { rowsPerSecond: number; p99: number }> = {};
for (const v of variants) {
  results[v.name] = await withDatabase(v.latest, async (store) => {
    const macKey = randomBytes(32);
    const writer = createAuditWriter({ store, macKey, maxBatchRows: envInt('BENCH_BATCH_ROWS', 64), maxConcurrentFlushes: envInt('BENCH_FLUSHES', 1) });
    const write = v.batched ? (e: AuditEvent) => writer.write(e) : (e: AuditEvent) => insertAuditEvent(store, e, macKey);
    await drive(write, v.id); // warm-up round, not counted
    const r = await drive(write, v.id);
    await writer.close();
    return r;
  });
  const r = results[v.name]!;
  console.log(`${v.name.padEnd(44)} ${r.rowsPerSecond.toFixed(0).padStart(7)} rows/s  p99 ${r.p99.toFixed(1)} ms`);
}
const base = results[variants[0]!.name]!.rowsPerSecond;
for (const v of variants.slice(1)) console.log(`${v.name.padEnd(44)} ${(results[v.name]!.rowsPerSecond / base).toFixed(2)} × single-row before`);
