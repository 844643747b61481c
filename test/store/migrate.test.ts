import { randomBytes, randomUUID } from 'node:crypto';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { createEmbeddedStore } from '../../src/store/embedded-store.js';
import { bundledMigrations, migrate, migrationsApplied, type Migration } from '../../src/store/migrate.js';
import { createPostgresStore } from '../../src/store/postgres-store.js';
import { sqlState, type Store } from '../../src/store/store.js';

// Always a real server here (DATABASE_URL when set), whatever store the rest of the suite uses.
interface Teardown {
  teardown(fn: () => unknown): void;
}

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function freshServerDatabase(t: Teardown): Promise<string> {
  const name = `dab_migrate_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(SERVER_URL, `CREATE DATABASE ${name}`);
  t.teardown(() => runSqlOnce(SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  return urlForDatabase(SERVER_URL, name);
}

function postgresStore(t: Teardown, url: string): Store {
  const store = createPostgresStore({ url, poolMax: 4, connectionTimeoutMs: 5000, statementTimeoutMs: 5000, onPoolError: () => undefined });
  t.teardown(() => store.close());
  return store;
}

async function embeddedStore(t: Teardown): Promise<Store> {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  return store;
}

async function failureOf(run: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure, got success');
}

// A second migration that cannot be applied twice (no IF NOT EXISTS): proves exactly-once.
const extra: Migration = { version: 900, name: '900_test_probe', sql: 'CREATE TABLE migrate_probe (id integer PRIMARY KEY);', checksum: 'probe-v1' };
const all = () => [...bundledMigrations(), extra];
const names = () => all().map((m) => m.name);

t.test('two postgres stores migrating one fresh database concurrently apply each migration once', async (t) => {
  const url = await freshServerDatabase(t);
  const [a, b] = [postgresStore(t, url), postgresStore(t, url)] as const;
  t.equal(await migrationsApplied(a), false, 'not ready before migrating (and no error: the store answers)');

  const results = await Promise.all([migrate(a, all()), migrate(b, all())]);
  for (const name of names()) {
    t.equal(results.filter((r) => r.applied.includes(name)).length, 1, `${name} reported applied by exactly one caller`);
  }
  t.same(results.flatMap((r) => r.applied).sort(), names().sort(), 'between them, everything applied');

  const { rows } = await a.query<{ version: number; name: string; n: string }>(
    'SELECT version, name, count(*) OVER (PARTITION BY version) AS n FROM schema_migrations ORDER BY version',
  );
  t.same(rows.map((r) => r.name), names(), 'one schema_migrations row per migration');
  t.ok(rows.every((r) => Number(r.n) === 1), 'no duplicates');
  t.equal(await migrationsApplied(a), true);
  t.equal(await migrationsApplied(b), true);
  t.same(await migrate(b, all()), { applied: [] }, 'running again applies nothing');
});

// Each kind shares one store across its subtests (an embedded PostgreSQL is slow to start).
for (const kind of ['postgres', 'embedded'] as const) {
  t.test(kind, async (t) => {
    const store = kind === 'postgres' ? postgresStore(t, await freshServerDatabase(t)) : await embeddedStore(t);

    t.test('migrates a fresh store; running again applies nothing', async (t) => {
      t.equal(await migrationsApplied(store), false, 'not ready before migrating');
      t.same(await migrate(store), { applied: bundledMigrations().map((m) => m.name) });
      t.equal(await migrationsApplied(store), true);
      t.same(await migrate(store), { applied: [] }, 'running again applies nothing');
      const { rows } = await store.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      const tables = rows.map((r) => r.table_name);
      for (const table of ['audit_events', 'databases', 'mappings', 'schema_migrations']) t.ok(tables.includes(table), `${table} exists`);
    });

    t.test('an applied migration whose file changed is refused, and a broken one leaves no trace', async (t) => {
      const edited = bundledMigrations().map((m) => ({ ...m, checksum: 'different' }));
      const changed = await failureOf(() => migrate(store, edited));
      t.match(changed.message, /migration 001_initial was changed after it was applied; add a new migration instead/);

      const broken: Migration = { version: 901, name: '901_broken', sql: 'CREATE TABLE half_done (id int); SELECT no_such_column FROM half_done;', checksum: 'x' };
      const failed = await failureOf(() => migrate(store, [...bundledMigrations(), broken]));
      t.match(failed.message, /migration 901_broken failed: .*no_such_column/);
      const { rows } = await store.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'half_done'");
      t.equal(Number(rows[0]?.n), 0, 'the failed migration was rolled back');
      t.equal(await migrationsApplied(store, [broken]), false, 'and not recorded');

      t.same(await migrate(store), { applied: [] }, 'the lock was released: the next migrate runs');
      t.equal(await migrationsApplied(store), true);
    });

    t.test('audit_events is append-only, enforced by the database', async (t) => {
      const eventId = randomUUID();
      await insertAuditEvent(store, { eventId, occurredAt: new Date(), eventType: 'test.event', outcome: 'succeeded', reason: 'probe', details: { n: 1 } }, randomBytes(32));
      const { rows } = await store.query<{ reason: string; details: unknown }>('SELECT reason, details FROM audit_events WHERE event_id = $1', [eventId]);
      t.same(rows, [{ reason: 'probe', details: { n: 1 } }], 'INSERT and SELECT work');

      const refused: Array<[op: string, sql: string]> = [
        ['UPDATE', "UPDATE audit_events SET reason = 'rewritten'"],
        ['DELETE', 'DELETE FROM audit_events'],
        ['TRUNCATE', 'TRUNCATE audit_events'],
      ];
      for (const [op, sql] of refused) {
        const err = await failureOf(() => store.query(sql));
        t.equal(sqlState(err), '42501', `${op}: insufficient_privilege`);
        t.match(err.message, new RegExp(`audit_events is append-only: ${op} refused`), `${op}: refused by the trigger`);
        const inTx = await failureOf(() => store.transaction((tx) => tx.query(sql)));
        t.equal(sqlState(inTx), '42501', `${op}: refused inside a transaction too`);
      }
      const after = await store.query<{ reason: string }>('SELECT reason FROM audit_events');
      t.same(after.rows, [{ reason: 'probe' }], 'history unchanged');
    });
  });
}
