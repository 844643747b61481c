import type { FastifyRequest } from 'fastify';
import t from 'tap';
import { createStsFailureAudit } from '../../src/auth/aws-failure-audit.js';
import type { Store } from '../../src/store/store.js';
import type { IdentityFault } from '../../src/sandbox/sts-caller-identity.js';
import { APP_ROLE, signedProof, startAwsHarness } from '../support/aws-callers.js';

// STS misbehaving while dab verifies an AWS proof: throttled, down, slow, oversized, malformed,
// another document, a redirect. Always 502/503 (never a 500), never a grant, and audited as no
// grant happened: no credential row, the failure counted.

const h = await startAwsHarness(t);
const endpoint = h.config.sts.endpoint as string;
await h.registerOrders();
await h.app.inject({ method: 'POST', url: '/v1/mappings', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { principal: { aws: APP_ROLE }, database: 'orders', levels: ['ro'] } });

const cases: Array<[IdentityFault, number, string, string]> = [
  ['throttle', 503, 'sts_unavailable', 'aws_sts_throttled'],
  ['server_error', 503, 'sts_unavailable', 'aws_sts_unavailable'],
  ['hang', 503, 'sts_unavailable', 'aws_sts_unavailable'],
  ['oversized', 502, 'sts_error', 'aws_sts_bad_response'],
  ['malformed', 502, 'sts_error', 'aws_sts_bad_response'],
  ['wrong_document', 502, 'sts_error', 'aws_sts_bad_response'],
  ['redirect', 502, 'sts_error', 'aws_sts_bad_response'],
];

/** The row is written beside the answer, not before it: wait for it (bounded), without timing anything. */
async function eventually<T>(read: () => Promise<T[]>): Promise<T[]> {
  for (let i = 0; i < 100; i++) {
    const rows = await read();
    if (rows.length) return rows;
    await new Promise((r) => setTimeout(r, 20));
  }
  return read();
}

let expiresIn = 300;
for (const [fault, status, code, reason] of cases) {
  t.test(`STS ${fault}: ${status} ${code}`, async (t) => {
    // A proof no other case has used (its own X-Amz-Expires), so the cache cannot answer.
    const proof = await signedProof({ endpoint, expiresIn: expiresIn-- });
    const before = h.sts.callerIdentityCalls;
    const rowsBefore = (await h.auditRows("event_type LIKE 'credential.%'")).length;
    h.sts.injectIdentityFault(fault);
    const res = await h.grant(proof, { database: 'orders', access: 'ro' });
    t.equal(res.statusCode, status, res.body);
    t.equal(res.json().code, code);
    if (status === 503) t.equal(res.headers['retry-after'], '5');
    t.notOk(res.json().token, 'no token');
    t.equal(h.sts.callerIdentityCalls - before, 1, 'one request: no retry storm, and a redirect is not followed');
    t.equal((await h.auditRows("event_type LIKE 'credential.%'")).length, rowsBefore, 'no grant was recorded, because none happened');
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    t.match(metrics, new RegExp(`dab_auth_failures_total\\{reason="${reason}"\\} [1-9]`));
    // On record: the first failure of each reason per window is an auth.sts_failed row.
    const rows = await eventually(() => h.auditRows("event_type = 'auth.sts_failed' AND reason = $1", [reason]));
    t.ok(rows.length >= 1, 'audited');
    t.match(rows[0], { outcome: 'failed', actor_issuer: null, source_ip: String });
    // The fault was one-off: the same proof now verifies (a failure is never cached).
    t.equal((await h.grant(proof, { database: 'orders', access: 'ro' })).statusCode, 200);
  });
}

t.test('an outage is audited once per reason per window, not once per request', async (t) => {
  // The auditor alone, over a store that records the INSERTs it is asked for.
  const inserts: unknown[][] = [];
  const store = { query: async (_sql: string, params: unknown[]) => void inserts.push(params) } as unknown as Store;
  let now = Date.now();
  const audit = createStsFailureAudit({ store, macKey: Buffer.alloc(32), now: () => new Date(now), log: { warn: () => undefined }, windowSeconds: 60 });
  const request = { id: 'req-1', ip: '192.0.2.1', headers: {} } as FastifyRequest;
  for (let i = 0; i < 3; i++) audit('aws_sts_throttled', request);
  audit('aws_sts_unavailable', request);
  now += 60_000;
  audit('aws_sts_throttled', request);
  await new Promise((r) => setImmediate(r));
  t.same(inserts.map((p) => `${p[2]}:${p[4]}`), ['auth.sts_failed:aws_sts_throttled', 'auth.sts_failed:aws_sts_unavailable', 'auth.sts_failed:aws_sts_throttled']);
});

t.test('GetCallerIdentity calls are counted by result', async (t) => {
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /dab_sts_get_caller_identity_total\{result="ok"\} [1-9]/);
  t.match(metrics, /dab_sts_get_caller_identity_total\{result="unavailable"\} [1-9]/);
  t.match(metrics, /dab_sts_get_caller_identity_total\{result="bad_response"\} [1-9]/);
});
