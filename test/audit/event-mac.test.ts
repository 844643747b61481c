import { createHmac } from 'node:crypto';
import t from 'tap';
import { eventMac, macOfCanonical } from '../../src/audit/event-mac.js';
import { MAC_INPUT_SQL } from '../../src/audit/audit-canonical.js';
import { eventMacKeyBytes } from '../../src/config/load-config.js';
import { startHarness } from '../support/harness.js';
import { asSuperuser, macKeyOf, sealRows, verify } from '../support/seal-helpers.js';

// Rows dab did not write: the runtime role may INSERT into audit_events, so these forgeries are
// plain INSERTs (triggers on, as that role would run them). Each unsealed one is removed again (as a
// superuser) before the next; the sealed one goes last.
const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, sealBatchSize: 5 }) });
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const caller = await h.token('app-orders');
for (let i = 0; i < 6; i++) await h.grant(caller, { database: 'orders', access: 'ro' });
await h.app.auditSealer.sealNow();

const COPY_COLUMNS = `occurred_at, event_type, outcome, reason, rule, request_id, actor_issuer, actor_subject, actor_groups, source_ip, user_agent,
  database_name, access_level, db_user, role_arn, session_name, source_identity, access_key_id, token_fingerprint, expires_at, caller_reason, details`;

async function forge(sql: string): Promise<number> {
  const { rows } = await h.store.query<{ id: unknown }>(`${sql} RETURNING id`);
  return Number(rows[0]?.id);
}
async function lastIssuedId(): Promise<number> {
  const { rows } = await h.store.query<{ id: unknown }>("SELECT max(id) AS id FROM audit_events WHERE event_type = 'credential.issued'");
  return Number(rows[0]?.id);
}
const remove = (id: number) => asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_events WHERE id = ${id}`));

t.test('every row dab wrote carries a MAC that verifies', async (t) => {
  const { rows } = await h.store.query<{ n: unknown }>('SELECT count(*) AS n FROM audit_events');
  const total = Number(rows[0]?.n);
  t.match(await verify(h), { ok: true, result: 'intact', eventMacs: { checked: total, writtenBefore: 0 } });
  const { rows: macs } = await h.store.query<{ n: unknown }>('SELECT count(*) AS n FROM audit_events WHERE event_mac IS NULL');
  t.equal(Number(macs[0]?.n), 0, 'grants and admin changes all wrote one');
});

t.test("the MAC of an event equals the one recomputed from the database's canonical text", async (t) => {
  const key = macKeyOf(h);
  const event = {
    eventId: '0190A1B2-C3D4-4E5F-8A6B-7C8D9E0F1A2B',
    occurredAt: new Date('2025-01-02T03:04:05.678Z'),
    eventType: 'test.event',
    outcome: 'succeeded' as const,
    reason: 'quotes " \\ \n\t \u0001 🦆 \u2028',
    actor: { issuer: 'https://idp.example', subject: "o'brien", groups: ['a,b', '"q"'] },
    expiresAt: new Date('2025-01-02T03:19:05Z'),
    details: { z: [1.5e-7, 1e21, -0, null, true], a: { 'ü': 'x', b: undefined }, at: new Date('2025-01-01T00:00:00Z'), big: 12345678901234567890 },
  };
  const mac = eventMac(key, event);
  t.match(mac, /^[0-9a-f]{64}$/);
  t.not(eventMac(key, { ...event, eventId: '0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2c' }), mac, 'the event_id is covered');
  t.not(eventMac(createHmac('sha256', 'other').digest(), event), mac, 'and the key');
  // What the database renders for the same values, inserted as the params function would.
  const rendered = async (engine: string | null, trace: (string | null)[] = [null, null, null], accessRequestId: string | null = null) => {
    const { rows } = await h.store.query<{ canonical: string }>(
      `SELECT ${MAC_INPUT_SQL} AS canonical FROM (SELECT $1::uuid AS event_id, $2::timestamptz AS occurred_at, 'test.event'::text AS event_type, 'succeeded'::text AS outcome,
         $3::text AS reason, NULL::text AS rule, NULL::text AS request_id, 'https://idp.example'::text AS actor_issuer, $4::text AS actor_subject, $5::text[] AS actor_groups,
         NULL::text AS source_ip, NULL::text AS user_agent, NULL::text AS database_name, NULL::text AS access_level, NULL::text AS db_user, NULL::text AS role_arn,
         NULL::text AS session_name, NULL::text AS source_identity, NULL::text AS access_key_id, NULL::text AS token_fingerprint, $6::timestamptz AS expires_at,
         NULL::text AS caller_reason, $7::jsonb AS details, NULL::text AS caller_arn, NULL::text AS caller_account, NULL::text AS caller_session_name, $8::text AS engine,
         $9::text AS trace_id, $10::text AS parent_span_id, $11::text AS client_request_id, $12::text AS access_request_id) AS r`,
      [event.eventId, event.occurredAt, event.reason, event.actor.subject, event.actor.groups, event.expiresAt, JSON.stringify(event.details), engine, ...trace, accessRequestId],
    );
    return rows[0]?.canonical as string;
  };
  t.equal(macOfCanonical(key, await rendered(null)), mac, 'no engine: the text (and MAC) of a row from before engines');
  t.notMatch(await rendered(null), /"engine"/, 'an unset engine leaves no trace in the text');
  const withEngine = eventMac(key, { ...event, engine: 'mysql' });
  t.not(withEngine, mac, 'the engine is covered');
  t.equal(macOfCanonical(key, await rendered('mysql')), withEngine, 'and rendered the same way by the database');
  // 013's trace columns: the same rule.
  t.notMatch(await rendered(null), /trace_id|parent_span_id|client_request_id/, 'no trace: no trace in the text');
  const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', clientRequestId: 'req-"1"' };
  const withTrace = eventMac(key, { ...event, ...trace });
  t.not(withTrace, mac, 'the trace is covered');
  t.equal(macOfCanonical(key, await rendered(null, [trace.traceId, trace.parentSpanId, trace.clientRequestId])), withTrace, 'and rendered the same way by the database');
  // 012: the access request a grant was made under, covered the same way (only when set).
  t.notMatch(await rendered(null), /"access_request_id"/, 'an unset access request id leaves no trace in the text');
  const withRequest = eventMac(key, { ...event, accessRequestId: '0190a1b2-0000-4000-8000-000000000001' });
  t.not(withRequest, mac, 'the access request id is covered');
  t.equal(macOfCanonical(key, await rendered(null, undefined, '0190a1b2-0000-4000-8000-000000000001')), withRequest, 'and rendered the same way by the database');
});

t.test('a forged row without a MAC is reported at its id (unsealed)', async (t) => {
  const id = await forge("INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason) VALUES (gen_random_uuid(), now(), 'credential.issued', 'issued', 'forged')");
  const head = (await sealRows(h.store)).pop();
  t.match(await verify(h), { ok: false, result: 'tampered', firstBroken: { id, kind: 'forged', sealSeq: (head?.seq ?? 0) + 1 }, unsealedEvents: 1 });
  await remove(id);
  t.match(await verify(h), { ok: true, result: 'intact' });
});

t.test('a forged row with a made-up MAC is reported at its id', async (t) => {
  const id = await forge(
    `INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, event_mac) VALUES (gen_random_uuid(), now(), 'credential.issued', 'issued', 'forged', repeat('ab', 32))`,
  );
  t.match(await verify(h), { ok: false, firstBroken: { id, kind: 'forged' } });
  await remove(id);
});

t.test("a copy of a real event, MAC included, under a new event_id is reported at its id", async (t) => {
  const source = await lastIssuedId();
  const id = await forge(`INSERT INTO audit_events (event_id, ${COPY_COLUMNS}, event_mac) SELECT gen_random_uuid(), ${COPY_COLUMNS}, event_mac FROM audit_events WHERE id = ${source}`);
  t.match(await verify(h), { ok: false, firstBroken: { id, kind: 'forged' } });
  // A range that stops before the forgery does not see it; one that includes it does.
  t.match(await verify(h, `?toId=${id - 1}`), { ok: true });
  t.match(await verify(h, `?fromId=${id}`), { ok: false, firstBroken: { id, kind: 'forged' } });
  await remove(id);
});

t.test('a forged row that got sealed is still reported at its id', async (t) => {
  const id = await forge("INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason) VALUES (gen_random_uuid(), now(), 'credential.issued', 'issued', 'forged')");
  await h.grant(caller, { database: 'orders', access: 'ro' });
  await h.app.auditSealer.sealNow();
  const seal = (await sealRows(h.store)).find((s) => s.firstId <= id && id <= s.lastId);
  t.ok(seal, 'the sealer sealed it');
  t.match(await verify(h), { ok: false, result: 'tampered', firstBroken: { id, kind: 'forged', sealSeq: seal?.seq }, unsealedEvents: 0 });
});

t.test('the key: audit.eventMacKey, else HKDF of the fingerprint key; short keys refused', async (t) => {
  const fingerprintKey = 'ab'.repeat(32);
  const derived = eventMacKeyBytes({ fingerprintKey });
  t.equal(derived.length, 32);
  t.same(eventMacKeyBytes({ fingerprintKey }), derived, 'deterministic: every instance derives the same key');
  t.not(derived.toString('hex'), fingerprintKey, 'never the fingerprint key itself');
  t.equal(eventMacKeyBytes({ fingerprintKey, eventMacKey: 'cd'.repeat(32) }).toString('hex'), 'cd'.repeat(32), 'an explicit key is used as given');
  t.throws(() => eventMacKeyBytes({ fingerprintKey, eventMacKey: 'cd'.repeat(16) }), /audit\.eventMacKey \(DAB_AUDIT_EVENT_MAC_KEY\): must be at least 32 bytes/);
});
