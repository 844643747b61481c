import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { createAuditSealer } from '../../src/audit/audit-sealer.js';
import { sqlState } from '../../src/store/store.js';
import { AUDITOR_SUBJECT, startHarness, type Harness } from '../support/harness.js';
import { asSuperuser, eventIds, macKeyOf, probeEvent, rolledBackInsert, sealRows, verify } from '../support/seal-helpers.js';

// Background sealing off: every seal in this file comes from sealNow, so results are exact.
const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, sealBatchSize: 7 }) });
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const caller = await h.token('app-orders');

async function grants(h: Harness, n: number): Promise<void> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => h.grant(caller, { database: 'orders', access: i % 3 ? 'ro' : 'rw' })));
  for (const r of results) if (r.statusCode !== 200 && r.statusCode !== 403) throw new Error(`grant answered ${r.statusCode}: ${r.body}`);
}

t.test('grants are sealed into chained batches, and verify', async (t) => {
  await grants(h, 20);
  const before = await verify(h);
  t.equal(before.ok, true);
  t.equal(before.head, null, 'nothing sealed yet');
  t.equal(before.unsealedEvents, (await eventIds(h.store)).length, 'every event is unsealed');

  const round = await h.app.auditSealer.sealNow();
  const ids = await eventIds(h.store);
  t.equal(round.events, ids.length, 'one round sealed every event');
  const seals = await sealRows(h.store);
  t.equal(seals.length, Math.ceil(ids.length / 7), 'in batches of sealBatchSize');
  t.same(seals.map((s) => s.seq), seals.map((_, i) => i + 1));
  for (const [i, s] of seals.entries()) t.equal(s.firstId, i === 0 ? 1 : (seals[i - 1]?.lastId ?? 0) + 1, `seal ${s.seq} starts where the last ended`);

  const after = await verify(h);
  t.match(after, { ok: true, checkedEvents: ids.length, checkedSeals: seals.length, unsealedEvents: 0, head: { seq: seals.length, lastId: ids[ids.length - 1] } });
  t.notOk(after.firstBroken);
  t.same((await h.app.auditSealer.sealNow()).seals, 0, 'nothing new, no empty seal');

  const ranged = await verify(h, `?fromId=${seals[1]?.firstId}&toId=${seals[1]?.lastId}`);
  t.match(ranged, { ok: true, checkedSeals: 1, checkedEvents: seals[1]?.rowCount }, 'a range checks the seals it overlaps');
});

t.test('hostile values seal and verify exactly; the smallest edit shows', async (t) => {
  const event = {
    ...probeEvent('quotes " and \\ backslash, line\nbreak, tab\t, \u0001 control, emoji 🦆, \u2028 separator'),
    actor: { issuer: 'https://idp.example', subject: 'o\'brien', groups: ['a,b', '"quoted"', '{braces}', 'NULL'] },
    userAgent: '=cmd|\' /C calc\'!A0',
    details: { big: 12345678901234567890.123456789, exact: 1.0, nested: { z: [null, true, 'ü'], a: {} } },
  };
  await insertAuditEvent(h.store, event, macKeyOf(h));
  await h.app.auditSealer.sealNow();
  t.match(await verify(h), { ok: true, unsealedEvents: 0 });
  const { rows } = await h.store.query<{ id: unknown; details: string }>('SELECT id, details::text AS details FROM audit_events WHERE event_id = $1', [event.eventId]);
  const [{ id, details }] = rows as [{ id: unknown; details: string }];
  await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_events SET details = jsonb_set(details, '{exact}', '1.00') WHERE id = ${id}`));
  t.match((await verify(h)).firstBroken, { id: Number(id), kind: 'edited' }, '1 -> 1.00 in a jsonb number: equal as numbers, still an edit');
  await asSuperuser(h.store, async (tx) => {
    await tx.query('UPDATE audit_events SET details = $1::jsonb WHERE id = $2', [details, id]);
  });
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('verify is for auditors, and checks its range', async (t) => {
  const asCaller = await h.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: { authorization: `Bearer ${caller}` } });
  t.equal(asCaller.statusCode, 403);
  const asAdmin = await h.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: { authorization: `Bearer ${await h.adminToken()}` } });
  t.equal(asAdmin.statusCode, 403, 'admins cannot use the auditor tier');
  const auditor = { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` };
  for (const q of ['?fromId=5&toId=2', '?fromId=0', '?toId=abc', '?bogus=1']) {
    const res = await h.app.inject({ method: 'GET', url: `/v1/audit/verify${q}`, headers: auditor });
    t.equal(res.statusCode, 400, q);
  }
});

t.test('a rolled-back insert is a gap, not a deletion', async (t) => {
  await grants(h, 2);
  await rolledBackInsert(h.store);
  await grants(h, 2);
  await h.app.auditSealer.sealNow();
  const gaps = (await sealRows(h.store)).flatMap((s) => s.gaps);
  t.ok(gaps.length >= 2, 'the burnt id is recorded as a gap');
  t.match(await verify(h), { ok: true, unsealedEvents: 0 });
});

t.test('events written while sealing runs are never lost or falsely flagged', async (t) => {
  let writing = true;
  // Slow writers: each holds its transaction open a little after its INSERT, like a DBA change.
  const writers = Array.from({ length: 12 }, async (_, i) => {
    await sleep(i * 5);
    await h.store.transaction(async (tx) => {
      await insertAuditEvent(tx, probeEvent(`writer ${i}`), macKeyOf(h));
      await sleep(15);
    });
  });
  const sealing = (async () => {
    while (writing) {
      await h.app.auditSealer.sealNow(0);
      await sleep(3);
    }
  })();
  await Promise.all([...writers, grants(h, 24)]);
  writing = false;
  await sealing;
  await h.app.auditSealer.sealNow();

  const ids = await eventIds(h.store);
  const seals = await sealRows(h.store);
  t.equal(seals.reduce((n, s) => n + s.rowCount, 0), ids.length, 'every event is in exactly one seal');
  t.match(await verify(h), { ok: true, checkedEvents: ids.length, unsealedEvents: 0 });
});

// Only a server has a second connection: on the embedded store statements never interleave, so an
// uncommitted insert cannot exist while the sealer runs, and the rule has nothing to wait for.
if (process.env.DATABASE_URL) {
  t.test('an insert still in flight holds sealing back at its id (pg: second connection)', async (t) => {
    await h.app.auditSealer.sealNow();
    const { rows } = await h.store.query<{ db: string }>('SELECT current_database() AS db');
    const url = new URL(process.env.DATABASE_URL as string);
    url.pathname = `/${rows[0]?.db}`;
    const other = new pg.Client({ connectionString: url.toString() });
    await other.connect();
    t.teardown(() => other.end());

    const db = { query: async (sql: string, params?: unknown[]) => ({ rows: (await other.query(sql, params)).rows as never[], rowCount: 0 }), exec: async () => undefined };
    await other.query('BEGIN');
    const inFlight = probeEvent('in flight');
    await insertAuditEvent(db, inFlight, macKeyOf(h));
    const { rows: mine } = await other.query<{ id: string }>('SELECT id FROM audit_events WHERE event_id = $1', [inFlight.eventId]);
    const inFlightId = Number(mine[0]?.id);
    await grants(h, 3); // committed, with ids above the in-flight one

    const held = await h.app.auditSealer.sealNow(100);
    t.equal(held.seals, 0, 'nothing sealed past the uncommitted id');
    const head = (await verify(h)).head;
    t.ok((head?.lastId ?? 0) < inFlightId, 'the head stays below the in-flight id');
    t.match(await verify(h), { ok: true, unsealedEvents: 3 }, 'later committed events wait, unsealed');

    await other.query('COMMIT');
    await h.app.auditSealer.sealNow();
    const after = await verify(h);
    t.match(after, { ok: true, unsealedEvents: 0 }, 'committed late, sealed normally, not flagged as inserted');
    t.ok((after.head?.lastId ?? 0) > inFlightId);
  });
}

t.test('seals are append-only, enforced by the database', async (t) => {
  await grants(h, 1);
  await h.app.auditSealer.sealNow();
  for (const [op, sql] of [
    ['UPDATE', "UPDATE audit_seals SET seal_hash = 'x'"],
    ['DELETE', 'DELETE FROM audit_seals'],
    ['TRUNCATE', 'TRUNCATE audit_seals'],
  ] as const) {
    const err = await h.store.query(sql).then(() => undefined, (e: unknown) => e);
    t.equal(sqlState(err), '42501', `${op}: insufficient_privilege`);
    t.match((err as Error).message, new RegExp(`audit_seals is append-only: ${op} refused`));
  }
  t.match(await verify(h), { ok: true });
});

t.test('the background sealer seals on its own, and stop() leaves nothing running', async (t) => {
  await grants(h, 2);
  const sealer = createAuditSealer({ store: h.store, now: () => new Date(), batchSize: 100, intervalMs: 30, log: { warn: () => undefined } });
  sealer.start();
  const deadline = Date.now() + 10_000;
  while ((await verify(h)).unsealedEvents > 0 && Date.now() < deadline) await sleep(30);
  await sealer.stop();
  t.match(await verify(h), { ok: true, unsealedEvents: 0 }, 'sealed within a few intervals');

  await grants(h, 1);
  await sleep(120);
  t.equal((await verify(h)).unsealedEvents, 1, 'no round after stop()');
});
