// The audit INSERTs run as named prepared statements on a PostgreSQL server (parsed and planned
// once per connection), and not at all when store.preparedStatements is off (transaction-mode
// poolers). Always against a real server: the embedded store has no named statements to check.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { insertAuditEvents } from '../../src/audit/audit-repo.js';
import { migrate } from '../../src/store/migrate.js';
import { createPostgresStore } from '../../src/store/postgres-store.js';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import { probeEvent } from '../support/seal-helpers.js';

const SERVER = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const macKey = randomBytes(32);

async function oneConnectionStore(t: Test, preparedStatements: boolean | undefined) {
  const name = `dab_prep_${randomBytes(5).toString('hex')}`;
  await runSqlOnce(SERVER, `CREATE DATABASE ${name}`);
  // One connection, so the session that ran the INSERTs is the one asked about its statements.
  const store = createPostgresStore({ url: urlForDatabase(SERVER, name), poolMax: 1, connectionTimeoutMs: 5000, statementTimeoutMs: 5000, onPoolError: () => undefined, preparedStatements });
  t.teardown(async () => {
    await store.close();
    await runSqlOnce(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  await migrate(store);
  return store;
}

const preparedAuditInserts = async (store: Awaited<ReturnType<typeof oneConnectionStore>>) =>
  (await store.query<{ name: string; statement: string }>("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'dab_audit_insert_%' ORDER BY name")).rows;

t.test('batches of the writer range run as named statements, one per row count', async (t) => {
  const store = await oneConnectionStore(t, undefined);
  await insertAuditEvents(store, [probeEvent('a')], macKey);
  await insertAuditEvents(store, [probeEvent('b')], macKey);
  await insertAuditEvents(store, [probeEvent('c'), probeEvent('d'), probeEvent('e')], macKey);
  const prepared = await preparedAuditInserts(store);
  t.equal(prepared.length, 2, 'one statement for one row, one for three rows (the second single row reused the first)');
  t.ok(prepared.every((p) => p.statement.startsWith('INSERT INTO audit_events')), 'and they are the audit INSERTs');
  t.not(prepared[0]?.name, prepared[1]?.name, 'different texts never share a name');
  const { rows } = await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
  t.equal(Number(rows[0]?.n), 5, 'every row was written');
});

t.test('a batch larger than the writer range is not kept prepared', async (t) => {
  const store = await oneConnectionStore(t, undefined);
  await insertAuditEvents(store, Array.from({ length: 65 }, (_, i) => probeEvent(`row ${i}`)), macKey);
  t.same(await preparedAuditInserts(store), [], 'no 65-row statement is kept on the connection');
});

t.test('store.preparedStatements: false parses every statement anew', async (t) => {
  const store = await oneConnectionStore(t, false);
  await insertAuditEvents(store, [probeEvent('a')], macKey);
  await insertAuditEvents(store, [probeEvent('b'), probeEvent('c')], macKey);
  t.same(await preparedAuditInserts(store), [], 'no named statement on the connection');
  const { rows } = await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
  t.equal(Number(rows[0]?.n), 3, 'and the rows were written');
});
