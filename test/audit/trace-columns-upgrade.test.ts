import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { createAuditSealer } from '../../src/audit/audit-sealer.js';
import { eventMac } from '../../src/audit/event-mac.js';
import { sealHead } from '../../src/audit/seal-repo.js';
import { verifyAuditLog } from '../../src/audit/verify-chain.js';
import { migrate } from '../../src/store/migrate.js';
import { openTestStore } from '../support/test-store.js';
import { asSuperuser } from '../support/seal-helpers.js';

// Migration 013 adds the trace columns. Rows and seals written before it keep verifying (the
// columns enter the MAC and the format-3 canonical form only when set); a traced row's trace is
// covered by both; a trace written into an old row afterwards is tampering.

const { store, close } = await openTestStore({ migrateUpTo: 11 });
t.teardown(close);
const key = randomBytes(32);
const event = (i: number) => ({ eventId: randomUUID(), occurredAt: new Date(), eventType: 'credential.issued', outcome: 'issued' as const, reason: `r ${i}`, requestId: `req-${i}`, actor: { issuer: 'https://idp.example', subject: `app-${i}`, groups: [] } });
const sealer = createAuditSealer({ store, now: () => new Date(), batchSize: 100, intervalMs: 0, log: { warn: () => undefined } });

// Rows as dab before 013 inserted them (its columns, its MAC). They are sealed after the migration:
// a seal reads the canonical form, in which an unset trace column leaves no trace, so that seal is
// the one the old code wrote (the 010 test shows the same for format-2 seals).
for (let i = 0; i < 3; i++) {
  const e = event(i);
  await store.query('INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, request_id, actor_issuer, actor_subject, actor_groups, event_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
    e.eventId, e.occurredAt, e.eventType, e.outcome, e.reason, e.requestId, e.actor.issuer, e.actor.subject, e.actor.groups, eventMac(key, e),
  ]);
}
await migrate(store);
await sealer.sealNow();
const traced = { ...event(9), traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', clientRequestId: 'checkout-42' };
await insertAuditEvent(store, traced, key);
await insertAuditEvent(store, event(10), key);
await sealer.sealNow();

t.test('old rows, the old seal and the new rows verify', async (t) => {
  t.match(await sealHead(store), { seq: 2, format: 3, firstId: 4, lastId: 5 });
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: true, result: 'intact', checkedSeals: 2, eventMacs: { checked: 5 } });
  t.not(eventMac(key, traced), eventMac(key, { ...traced, traceId: null, parentSpanId: null, clientRequestId: null }), 'the MAC covers the trace');
  t.equal(eventMac(key, { ...traced, traceId: null, parentSpanId: null, clientRequestId: null }), eventMac(key, { ...traced, traceId: undefined, parentSpanId: undefined, clientRequestId: undefined }), 'unset is the same as null');
});

for (const column of ['trace_id', 'parent_span_id', 'client_request_id']) {
  t.test(`a traced row's ${column} is sealed and MAC'd`, async (t) => {
    const { rows } = await store.query<{ v: string }>(`SELECT ${column} AS v FROM audit_events WHERE id = 4`);
    await asSuperuser(store, (tx) => tx.exec(`UPDATE audit_events SET ${column} = 'ffffffffffffffff' WHERE id = 4`));
    t.match(await verifyAuditLog(store, { macKey: key }), { ok: false, firstBroken: { id: 4 } });
    await asSuperuser(store, async (tx) => { await tx.query(`UPDATE audit_events SET ${column} = $1 WHERE id = 4`, [rows[0]!.v]); });
    t.match(await verifyAuditLog(store, { macKey: key }), { ok: true });
  });
}

t.test('a trace added to an untraced row breaks it', async (t) => {
  await asSuperuser(store, (tx) => tx.exec("UPDATE audit_events SET trace_id = '11111111111111111111111111111111' WHERE id = 2"));
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: false, firstBroken: { id: 2 } });
});
