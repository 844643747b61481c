// PostgreSQL CPU per audit row by the shape of the group-commit INSERT: a multi-row VALUES parsed
// on every call, the same as a named prepared statement (what dab does), and one fixed-shape
// INSERT … SELECT FROM unnest(arrays) prepared once. CPU is read from /proc for the store's own
// backends (so the load generator and other processes do not count), rows/s is for the record.
//   npm run bench:insert-shape      (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
// Knobs: BENCH_BATCH_ROWS (8), BENCH_WRITERS (4: concurrent INSERTs), BENCH_SECONDS (3), BENCH_ROUNDS (3).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { auditEventParams, insertAuditEvents, type AuditEvent } from '../src/audit/audit-repo.js';
import { uuidV7 } from '../src/audit/uuid-v7.js';
import { migrate } from '../src/store/migrate.js';
import { createPostgresStore } from '../src/store/postgres-store.js';
import { runSqlOnce, urlForDatabase } from '../src/store/run-sql.js';
import type { Queryable, Store } from '../src/store/store.js';
import { grantShapedEvent } from './grant-shaped-event.js';

const envInt = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const BATCH = envInt('BENCH_BATCH_ROWS', 8);
const WRITERS = envInt('BENCH_WRITERS', 4);
const SECONDS = envInt('BENCH_SECONDS', 3);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const macKey = randomBytes(32);


// The unnest shape: one array parameter per column, so one text (and one plan) for any batch size.
// actor_groups is text[] per row, which unnest cannot take as a 2-D array: it travels as JSON.
const COLUMNS = ['event_id', 'occurred_at', 'event_type', 'outcome', 'reason', 'rule', 'request_id', 'actor_issuer', 'actor_subject',
  'actor_groups', 'source_ip', 'user_agent', 'database_name', 'access_level', 'db_user', 'role_arn', 'session_name',
  'source_identity', 'access_key_id', 'token_fingerprint', 'expires_at', 'caller_reason', 'details', 'event_mac'];
const arrayType = (c: string) => (c === 'event_id' ? 'uuid' : c === 'occurred_at' || c === 'expires_at' ? 'timestamptz' : 'text');
const selectColumn = (c: string, i: number) =>
  c === 'actor_groups' ? `CASE WHEN u.c${i} IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(u.c${i}::jsonb)) END` : c === 'details' ? `u.c${i}::jsonb` : `u.c${i}`;
const UNNEST_SQL = `INSERT INTO audit_events (${COLUMNS.join(', ')}) SELECT ${COLUMNS.map(selectColumn).join(', ')}
  FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${arrayType(c)}[]`).join(', ')}) AS u(${COLUMNS.map((_, i) => `c${i}`).join(', ')})`;
function insertUnnest(db: Queryable, events: AuditEvent[]): Promise<unknown> {
  const columns: unknown[][] = COLUMNS.map(() => []);
  for (const e of events) auditEventParams(e, macKey).forEach((v, i) => columns[i]!.push(COLUMNS[i] === 'actor_groups' && v ? JSON.stringify(v) : v));
  return db.query(UNNEST_SQL, columns, { preparedName: 'bench_audit_unnest' });
}

/** CPU (µs) the server has spent so far in this database's backends. */
async function backendMicros(store: Store, database: string): Promise<number> {
  const { rows } = await store.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // a backend that just ended
    }
  }
  return ticks * 10_000; // USER_HZ = 100
}

const name = `dab_shape_bench_${randomBytes(4).toString('hex')}`;
await runSqlOnce(SERVER, `CREATE DATABASE ${name}`);
const open = (preparedStatements: boolean) =>
  createPostgresStore({ url: urlForDatabase(SERVER, name), poolMax: WRITERS, connectionTimeoutMs: 10_000, statementTimeoutMs: 60_000, onPoolError: () => undefined, preparedStatements });
const parsed = open(false);
const prepared = open(true);
const observer = open(false);
try {
  await migrate(prepared);
  const variants: Record<string, (events: AuditEvent[]) => Promise<unknown>> = {
    'VALUES, parsed each call': (events) => insertAuditEvents(parsed, events, macKey),
    'VALUES, prepared (dab)': (events) => insertAuditEvents(prepared, events, macKey),
    'unnest, prepared': (events) => insertUnnest(prepared, events),
  };
  let n = 0;
  const totals: Record<string, { pgMicros: number; rows: number; seconds: number }> = {};
  async function run(variant: string, seconds: number, counted: boolean): Promise<void> {
    const until = Date.now() + seconds * 1000;
    let rows = 0;
    const before = await backendMicros(observer, name);
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      while (Date.now() < until) {
        await variants[variant]!(Array.from({ length: BATCH }, () => grantShapedEvent(uuidV7, n++)));
        rows += BATCH;
      }
    }));
    const used = (await backendMicros(observer, name)) - before;
    if (!counted) return;
    const t = (totals[variant] ??= { pgMicros: 0, rows: 0, seconds: 0 });
    t.pgMicros += used;
    t.rows += rows;
    t.seconds += seconds;
  }
  const names = Object.keys(variants);
  for (const v of names) await run(v, 1, false); // warm-up: connections open, statements prepared
  // Alternating order, so drift on a shared machine falls on every variant alike.
  for (let r = 0; r < ROUNDS; r++) for (const v of r % 2 ? [...names].reverse() : names) await run(v, SECONDS, true);
  console.log(`audit INSERT shapes: ${BATCH} rows per INSERT, ${WRITERS} at once, ${ROUNDS} rounds of ${SECONDS} s each`);
  const base = totals[names[0]!]!;
  for (const v of names) {
    const t = totals[v]!;
    const perRow = t.pgMicros / t.rows;
    console.log(`  ${v.padEnd(26)} PostgreSQL ${perRow.toFixed(1).padStart(6)} µs/row (${(perRow / (base.pgMicros / base.rows)).toFixed(2)}×)  ${(t.rows / t.seconds).toFixed(0).padStart(6)} rows/s`);
  }
} finally {
  await Promise.all([parsed.close(), prepared.close(), observer.close()]);
  await runSqlOnce(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
