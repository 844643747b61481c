import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { createAuditSealer } from '../../src/audit/audit-sealer.js';
import { sealHead } from '../../src/audit/seal-repo.js';
import { verifyAuditLog } from '../../src/audit/verify-chain.js';
import { bundledMigrations, migrate } from '../../src/store/migrate.js';
import { asSuperuser, writeFirstSeal } from '../support/seal-helpers.js';
import { openUnmigratedStore } from '../support/test-store.js';

// A log that predates event MACs: rows written and sealed (format 1) before migration 007, then the
// upgrade, then new rows. Old rows are "written before event MACs" (counted, not tampering), old
// seals keep verifying, and from the upgrade on a row without a valid MAC is forged.
const store = await openUnmigratedStore(t);
const key = randomBytes(32);
await migrate(store, bundledMigrations().filter((m) => m.version < 7));

// Old rows, as dab before 007 inserted them (no event_mac column yet).
for (let i = 0; i < 5; i++) {
  await store.query("INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, details) VALUES ($1, now(), 'test.event', 'succeeded', $2, $3)", [
    randomUUID(),
    `old ${i}`,
    JSON.stringify({ i }),
  ]);
}
// A format-1 seal over ids 1-3, as the sealer of that version wrote it.
await writeFirstSeal(store, 1, 1, 3);

await migrate(store);
const sealer = createAuditSealer({ store, now: () => new Date(), batchSize: 100, intervalMs: 0, log: { warn: () => undefined } });
for (let i = 0; i < 3; i++) await insertAuditEvent(store, { eventId: randomUUID(), occurredAt: new Date(), eventType: 'test.event', outcome: 'succeeded', reason: `new ${i}` }, key);
await sealer.sealNow();

t.test('old rows count as written before event MACs; old and new seals verify', async (t) => {
  const head = await sealHead(store);
  t.match(head, { seq: 2, format: 3, firstId: 4, lastId: 8 }, 'the next seal uses the newest format (it covers event_mac, and the columns added since where set)');
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: true, result: 'intact', checkedSeals: 2, checkedEvents: 8, eventMacs: { checked: 3, writtenBefore: 5 } });
  t.match(await verifyAuditLog(store, { macKey: randomBytes(32) }), { ok: false, firstBroken: { id: 6, kind: 'forged' } }, 'under another key the new rows are not dab\'s');
});

t.test('a row without a MAC after the upgrade is forged, even though the sealer sealed it', async (t) => {
  const { rows } = await store.query<{ id: unknown }>("INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason) VALUES ($1, now(), 'test.event', 'succeeded', 'forged') RETURNING id", [randomUUID()]);
  const id = Number(rows[0]?.id);
  await sealer.sealNow();
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: false, result: 'tampered', firstBroken: { id, kind: 'forged', sealSeq: 3 }, eventMacs: { checked: 3, writtenBefore: 5 } });
});

t.test('an edit of a row under a format-1 seal still shows as edited', async (t) => {
  await asSuperuser(store, (tx) => tx.exec("UPDATE audit_events SET reason = 'rewritten' WHERE id = 2"));
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: false, firstBroken: { id: 2, kind: 'edited', sealSeq: 1 } });
});
