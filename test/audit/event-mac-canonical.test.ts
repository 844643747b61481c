import t from 'tap';
import { canonicalJsonOf, canonicalValueOf, stableJson } from '../../src/audit/event-mac.js';
import type { AuditEvent } from '../../src/audit/audit-repo.js';

// A small deterministic generator (the same events every run), so a failure names an input.
function generator(seed: number) {
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  return { next, pick };
}

const STRINGS = ['', 'orders', 'ÅÄÖ ünïcödé', 'quote " and \\ backslash', 'line\nbreak\ttab', '\u0000\u001f\u2028', '🙂 emoji', 'a'.repeat(300)];

function randomEvent(seed: number): AuditEvent {
  const g = generator(seed);
  const maybe = <T>(v: T): T | null | undefined => g.pick([v, null, undefined]);
  const str = () => g.pick(STRINGS);
  return {
    eventId: g.pick(['0190B1F2-3C4D-7E5F-8A6B-7C8D9E0F1A2B', '0190b1f2-3c4d-7e5f-8a6b-7c8d9e0f1a2b']),
    occurredAt: new Date(1_700_000_000_000 + Math.floor(g.next() * 1e10)),
    eventType: g.pick(['credential.issued', 'credential.denied', 'mapping.created']),
    outcome: g.pick(['issued', 'denied', 'failed', 'succeeded'] as const),
    reason: str(),
    rule: maybe(str()),
    requestId: maybe(str()),
    actor: g.pick([null, undefined, { issuer: str(), subject: str(), groups: g.pick([[], [str()], [str(), str(), str()]]) }]),
    sourceIp: maybe('127.0.0.1'),
    userAgent: maybe(str()),
    databaseName: maybe(str()),
    accessLevel: maybe(g.pick(['ro', 'rw', 'monitor'])),
    engine: maybe(g.pick(['postgres', 'mysql', 'valkey'])),
    dbUser: maybe(str()),
    roleArn: maybe('arn:aws:iam::111111111111:role/dab-orders-ro'),
    sessionName: maybe(str()),
    sourceIdentity: maybe(str()),
    accessKeyId: maybe('ASIAEXAMPLE'),
    tokenFingerprint: maybe('ab'.repeat(32)),
    expiresAt: maybe(new Date(1_700_000_000_000 + Math.floor(g.next() * 1e10))),
    callerReason: maybe(str()),
    details: g.pick([undefined, null, {}, { z: 1, a: [3, { y: str(), b: null, u: undefined }], m: { when: new Date(0), n: 1.5e-7 } }, [str(), 2, true]]),
    callerArn: maybe('arn:aws:iam::222222222222:role/app'),
    callerAccount: maybe('222222222222'),
    callerSessionName: maybe(str()),
    traceId: maybe('4bf92f3577b34da6a3ce929d0e0e4736'),
    parentSpanId: maybe('00f067aa0ba902b7'),
    clientRequestId: maybe(str()),
    accessRequestId: maybe('0190a1b2-0000-4000-8000-000000000001'),
  };
}

t.test('the MAC input written straight from an event is stableJson of its canonical value', async (t) => {
  let checked = 0;
  for (let seed = 1; seed <= 2000; seed++) {
    const event = randomEvent(seed);
    const expected = stableJson(canonicalValueOf(event));
    const actual = canonicalJsonOf(event);
    if (actual !== expected) {
      t.equal(actual, expected, `seed ${seed}`);
      return;
    }
    checked++;
  }
  t.equal(checked, 2000, 'every generated event gave the same text');
});

t.test('columns added after format 1 enter the input only when set', async (t) => {
  const base = randomEvent(7);
  const unset = { callerArn: null, callerAccount: undefined, callerSessionName: null, engine: null, traceId: null, parentSpanId: null, clientRequestId: null, accessRequestId: null };
  const without = canonicalJsonOf({ ...base, ...unset });
  t.notMatch(without, /caller_arn|caller_account|caller_session_name|"engine"|trace_id|parent_span_id|client_request_id|access_request_id/);
  const withEngine = canonicalJsonOf({ ...base, ...unset, engine: 'mysql' });
  t.match(withEngine, /,"engine":"mysql",/);
  t.same(Object.keys(JSON.parse(withEngine)), Object.keys(JSON.parse(withEngine)).sort(), 'keys in sorted order');
});
