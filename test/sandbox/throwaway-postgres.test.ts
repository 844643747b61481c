// A private PostgreSQL cluster: start, query, crash, recover, stop and clean up.
import { existsSync } from 'node:fs';
import pg from 'pg';
import t from 'tap';
import { findPostgresBinDir, startThrowawayPostgres } from '../../src/sandbox/throwaway-postgres.js';

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query<R>(sql)).rows;
  } finally {
    await c.end();
  }
}

t.test('finds the installed server binaries', async (t) => {
  t.match(await findPostgresBinDir(), /\/bin$/);
  const saved = process.env.PG_BIN;
  process.env.PG_BIN = '/nonexistent/bin';
  t.teardown(() => (saved === undefined ? delete process.env.PG_BIN : (process.env.PG_BIN = saved)));
  t.equal(await findPostgresBinDir(), '/nonexistent/bin', 'PG_BIN wins');
  await t.rejects(startThrowawayPostgres(), /PostgreSQL server binaries not found in \/nonexistent\/bin/);
});

t.test('start, query, kill, restart, stop', async (t) => {
  const db = await startThrowawayPostgres({ settings: { log_connections: 'on', application_name: "it's" } });
  t.teardown(() => db.stop());
  t.equal(db.host, '127.0.0.1');
  t.ok(existsSync(db.dataDir), 'data directory exists');
  t.equal(db.url('test', 'alice'), `postgres://alice@127.0.0.1:${db.port}/test`);

  const rows = await query<{ one: number; lc: string; fsync: string; app: string }>(db.url(),
    "SELECT 1 AS one, current_setting('log_connections') AS lc, current_setting('fsync') AS fsync, current_setting('application_name') AS app");
  t.same(rows, [{ one: 1, lc: 'on', fsync: 'off', app: "it's" }], 'settings applied, quotes escaped');
  await query(db.url(), 'CREATE TABLE survives (x int); INSERT INTO survives VALUES (42)');

  // A session open during the crash is cut off; the data written before it survives recovery.
  const victim = new pg.Client({ connectionString: db.url() });
  const victimError = new Promise<Error>((resolve) => victim.on('error', resolve));
  await victim.connect();
  await db.kill();
  t.match(await victimError, Error, 'open session terminated by the crash');
  await t.rejects(query(db.url(), 'SELECT 1'), 'down after kill');

  await db.start();
  t.same(await query(db.url(), 'SELECT x FROM survives'), [{ x: 42 }], 'recovered after restart');

  await db.stop({ keepData: true });
  t.ok(existsSync(db.dataDir), 'keepData leaves the cluster in place');
  await db.start();
  t.same(await query(db.url(), 'SELECT 1 AS one'), [{ one: 1 }], 'restarts after a clean stop');

  await db.stop();
  t.notOk(existsSync(db.dataDir), 'stop removes the directory');
  await db.stop(); // idempotent
  await t.rejects(db.start(), /stopped and removed/);
});

t.test('an explicit port is honoured', async (t) => {
  const first = await startThrowawayPostgres();
  t.teardown(() => first.stop());
  await t.rejects(startThrowawayPostgres({ port: first.port }), /could not (bind|create)|pg_ctl start failed/, 'port in use is a clear error');
});
