import { randomBytes, randomUUID } from 'node:crypto';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { createAuditSealer } from '../../src/audit/audit-sealer.js';
import { eventMac } from '../../src/audit/event-mac.js';
import { sealHead } from '../../src/audit/seal-repo.js';
import { verifyAuditLog } from '../../src/audit/verify-chain.js';
import { migrate } from '../../src/store/migrate.js';
import { openTestStore } from '../support/test-store.js';
import { asSuperuser, writeFirstSeal } from '../support/seal-helpers.js';

// Migration 010 adds the AWS caller columns. Rows and format-2 seals written before it keep
// verifying (their MACs never covered the new columns, and still do not while they are null);
// new seals use format 3, which covers them; setting one on an old row is tampering.

const { store, close } = await openTestStore({ migrateUpTo: 9 });
t.teardown(close);
const key = randomBytes(32);
const oldEvent = (i: number) => ({ eventId: randomUUID(), occurredAt: new Date(), eventType: 'credential.issued', outcome: 'issued' as const, reason: `old ${i}`, actor: { issuer: 'https://idp.example', subject: `app-${i}`, groups: [] } });

// Rows as dab before 010 inserted them (its columns, its MAC), and a format-2 seal over them.
for (let i = 0; i < 3; i++) {
  const e = oldEvent(i);
  await store.query('INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, actor_issuer, actor_subject, actor_groups, event_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
    e.eventId, e.occurredAt, e.eventType, e.outcome, e.reason, e.actor.issuer, e.actor.subject, e.actor.groups, eventMac(key, e),
  ]);
}
await writeFirstSeal(store, 2, 1, 3);

await migrate(store);
await insertAuditEvent(store, {
  ...oldEvent(9),
  actor: { issuer: 'aws', subject: 'arn:aws:iam::222222222222:role/demo-ec2-app', groups: [] },
  callerArn: 'arn:aws:sts::222222222222:assumed-role/demo-ec2-app/i-0123456789abcdef0',
  callerAccount: '222222222222',
  callerSessionName: 'i-0123456789abcdef0',
}, key);
await createAuditSealer({ store, now: () => new Date(), batchSize: 100, intervalMs: 0, log: { warn: () => undefined } }).sealNow();

t.test('old rows and the format-2 seal verify; the new seal is format 3', async (t) => {
  t.match(await sealHead(store), { seq: 2, format: 3, firstId: 4, lastId: 4 });
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: true, result: 'intact', checkedSeals: 2, eventMacs: { checked: 4, writtenBefore: 0 } });
});

t.test('the new row\'s AWS columns are sealed and MAC\'d', async (t) => {
  await asSuperuser(store, (tx) => tx.exec("UPDATE audit_events SET caller_account = '333333333333' WHERE id = 4"));
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: false, firstBroken: { id: 4, sealSeq: 2 } });
  await asSuperuser(store, (tx) => tx.exec("UPDATE audit_events SET caller_account = '222222222222' WHERE id = 4"));
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: true });
});

t.test('an AWS caller added to an old row breaks its MAC', async (t) => {
  await asSuperuser(store, (tx) => tx.exec("UPDATE audit_events SET caller_arn = 'arn:aws:iam::222222222222:role/admin' WHERE id = 2"));
  t.match(await verifyAuditLog(store, { macKey: key }), { ok: false, firstBroken: { id: 2, kind: 'forged' } });
});
