import t from 'tap';
import { startHarness } from '../support/harness.js';
import { applyPolicies, as, ordersPolicy, secondApp } from './support.js';

// Two dab instances on one store: an approval or a revoke made through one is enforced by the
// other within accessModel.maxStalenessMs, through the access_model_version bump the
// access_requests trigger makes — no job, no message between them.

const STALENESS_MS = 200;
const h = await startHarness(t, { config: (c) => (c.accessModel = { maxStalenessMs: STALENESS_MS }) });
await h.registerOrders();
await applyPolicies(h, [ordersPolicy(h.issuer.issuer)]);
const other = await secondApp(t, h);

const grantOnOther = async () => other.inject({ method: 'POST', url: '/v1/credentials', headers: { authorization: `Bearer ${await h.token('app-1', ['apps'])}` }, payload: { database: 'orders', access: 'rw' } });
async function within(ms: number, status: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await grantOnOther();
    if (res.statusCode === status) return Date.now() - started;
    if (Date.now() - started > ms) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('approve on one replica, grant on the other; revoke on one, refused on the other', async (t) => {
  t.equal((await grantOnOther()).statusCode, 403, 'the other replica has loaded its model: no rw');
  const req = (await as(h, 'app-1', ['apps'], 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'r', durationSeconds: 600 })).json();
  await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: req.version });
  t.ok((await within(STALENESS_MS * 10, 200)) <= STALENESS_MS * 10, 'the approval reached the other replica');
  await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/revoke`, { reason: 'incident over' });
  const took = await within(STALENESS_MS * 10, 403);
  t.ok(took <= STALENESS_MS + 500, `the revoke took effect on the other replica within maxStalenessMs (+ slack): ${took} ms`);
});
