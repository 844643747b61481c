import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { canonicalTimestamp, computeSealHash, GENESIS_HASH, gapsOf, rowsDigest } from '../../src/audit/audit-canonical.js';
import { insertAuditEvent, type AuditEvent } from '../../src/audit/audit-repo.js';
import { createAuditSealer } from '../../src/audit/audit-sealer.js';
import { eventMac } from '../../src/audit/event-mac.js';
import { insertSeal, readRowHashes, sealHead } from '../../src/audit/seal-repo.js';
import { verifyAuditLog } from '../../src/audit/verify-chain.js';
import { crossFieldProblems } from '../../src/databases/database-schema.js';
import { findDatabase } from '../../src/databases/databases-repo.js';
import { bundledMigrations, migrate } from '../../src/store/migrate.js';
import { asSuperuser } from '../support/seal-helpers.js';
import { openUnmigratedStore } from '../support/test-store.js';

// A store from before engines (migration 011): a database registered and audit rows written and
// sealed (format 2) by the previous version, then the upgrade. The database is PostgreSQL with its
// fields intact, old rows and seals verify, new rows record their engine, and the engine column is
// covered by MAC and seal both ways (set where it was not, changed, or removed).
const store = await openUnmigratedStore(t);
const key = randomBytes(32);
await migrate(store, bundledMigrations().filter((m) => m.version < 11));

await store.query(
  `INSERT INTO databases (name, host, port, region, dbname, role_arn, external_id, sslmode, levels, labels, resource_id)
   VALUES ('orders', 'orders.cluster-abc.us-east-1.rds.amazonaws.com', 5432, 'us-east-1', 'orders_db', 'arn:aws:iam::123456789012:role/db', NULL, 'require', $1::jsonb, '{}'::jsonb, 'cluster-ABC123')`,
  [JSON.stringify({ ro: { dbUser: 'orders_ro' } })],
);
await store.query(
  `INSERT INTO databases (name, host, port, region, dbname, role_arn, external_id, sslmode, levels, labels)
   VALUES ('bare', 'bare.example.com', 5433, 'us-east-1', 'bare', 'arn:aws:iam::123456789012:role/db', NULL, 'verify-full', $1::jsonb, '{}'::jsonb)`,
  [JSON.stringify({ rw: { dbUser: 'bare_rw' } })],
);

// Old rows, with MACs as the previous version computed them (it had no engine column).
const oldEvent = (i: number): AuditEvent => ({ eventId: randomUUID(), occurredAt: new Date(), eventType: 'credential.issued', outcome: 'issued', reason: `old ${i}`, databaseName: 'orders', accessLevel: 'ro', dbUser: 'orders_ro' });
for (let i = 0; i < 4; i++) {
  const e = oldEvent(i);
  await store.query(
    `INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, database_name, access_level, db_user, event_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [e.eventId, e.occurredAt, e.eventType, e.outcome, e.reason, e.databaseName, e.accessLevel, e.dbUser, eventMac(key, e)],
  );
}
// A format-2 seal over ids 1-3, as the sealer before engines wrote it.
{
  const ids: number[] = [];
  const hashes: Buffer[] = [];
  for await (const row of readRowHashes(store, 1, 3, 100, 2)) {
    ids.push(row.id);
    hashes.push(row.hash);
  }
  const rowHashes = Buffer.concat(hashes);
  const header = { seq: 1, format: 2, firstId: 1, lastId: 3, rowCount: ids.length, gaps: gapsOf(1, 3, ids), rowsDigest: rowsDigest(rowHashes), prevSealHash: GENESIS_HASH, sealedAt: canonicalTimestamp(new Date()) };
  await insertSeal(store, { ...header, sealHash: computeSealHash(header), rowHashes });
}

await migrate(store);
const sealer = createAuditSealer({ store, now: () => new Date(), batchSize: 100, intervalMs: 0, log: { warn: () => undefined } });
for (const engine of ['postgres', 'postgres', null]) {
  await insertAuditEvent(store, { ...oldEvent(9), reason: 'new', ...(engine ? { engine } : {}) }, key);
}
await sealer.sealNow();

t.test('registered databases become postgres with their fields, and still pass the checks', async (t) => {
  const orders = await findDatabase(store, 'orders');
  t.match(orders, { name: 'orders', engine: 'postgres', port: 5432, dbname: 'orders_db', sslmode: 'require', resourceId: 'cluster-ABC123', levels: { ro: { dbUser: 'orders_ro' } } });
  const bare = await findDatabase(store, 'bare');
  t.match(bare, { engine: 'postgres', port: 5433, dbname: 'bare', sslmode: 'verify-full' });
  t.notOk(bare && 'resourceId' in bare, 'a missing resource id stays missing (not null)');
  t.same(crossFieldProblems(orders!), [], 'the stored registration is valid for its engine');
  const { rows } = await store.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'databases' AND column_name IN ('dbname', 'sslmode', 'resource_id')");
  t.same(rows, [], 'the PostgreSQL-only columns are gone: the engine settings hold them');
  await t.rejects(
    store.query("INSERT INTO databases (name, host, port, region, role_arn, levels, labels) VALUES ('x', 'x', 1, 'us-east-1', 'r', '{}', '{}')"),
    /engine/,
    'a new row must name its engine',
  );
});

t.test('old rows and the old seal verify; new rows record their engine', async (t) => {
  t.match(await sealHead(store), { seq: 2, format: 3, firstId: 4, lastId: 7 });
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: true, result: 'intact', checkedSeals: 2, checkedEvents: 7, eventMacs: { checked: 7, writtenBefore: 0 } });
  const { rows } = await store.query<{ engine: string | null }>('SELECT engine FROM audit_events ORDER BY id');
  t.same(rows.map((r) => r.engine), [null, null, null, null, 'postgres', 'postgres', null]);
});

for (const [what, id, sql] of [
  ['an engine given to a row from before engines (under the old seal)', 2, "UPDATE audit_events SET engine = 'mysql' WHERE id = 2"],
  ['an engine given to an old row that a new-format seal covers', 4, "UPDATE audit_events SET engine = 'postgres' WHERE id = 4"],
  ['a recorded engine changed', 5, "UPDATE audit_events SET engine = 'mysql' WHERE id = 5"],
  ['a recorded engine removed', 6, 'UPDATE audit_events SET engine = NULL WHERE id = 6'],
  ['an engine given to a new row without one', 7, "UPDATE audit_events SET engine = 'postgres' WHERE id = 7"],
] as const) {
  t.test(`${what} is caught`, async (t) => {
    const { rows } = await store.query<{ engine: string | null }>('SELECT engine FROM audit_events WHERE id = $1', [id]);
    await asSuperuser(store, (tx) => tx.exec(sql));
    t.teardown(() => asSuperuser(store, (tx) => tx.query('UPDATE audit_events SET engine = $1 WHERE id = $2', [rows[0]?.engine ?? null, id]).then(() => undefined)));
    const outcome = await verifyAuditLog(store, { macKey: key });
    t.match(outcome, { ok: false, result: 'tampered', firstBroken: { id } });
  });
}

t.test('after each edit is undone the log is intact again (the checks above were not vacuous)', async (t) => {
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: true, result: 'intact' });
});
