import t from 'tap';
import { DabProblemError, DabUnreachableError, requestCredentials } from '../../src/client/dab-client.js';
import { dabPassword } from '../../src/client/pg-password.js';
import { startHarness } from '../support/harness.js';

const h = await startHarness(t);
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const bearer = await h.token('app-orders');
const issuedCount = async () => (await h.auditRows("event_type = 'credential.issued'")).length;

t.test('caches until shortly before expiresAt and coalesces concurrent refreshes', async (t) => {
  let clock = Date.now();
  const password = dabPassword({ url, bearer, database: 'orders', access: 'ro', refreshBeforeMs: 60_000, now: () => clock });
  const before = await issuedCount();
  const first = await Promise.all(Array.from({ length: 10 }, () => password()));
  t.equal(new Set(first).size, 1, 'ten concurrent connections share one token');
  const firstGrant = password.current()?.grantId;
  t.equal((await issuedCount()) - before, 1, 'one grant for all of them');

  clock += 10 * 60_000;
  t.equal(await password(), first[0], 'still cached 10 minutes later');
  clock += 4.5 * 60_000; // 30 s before expiry: inside the refresh window
  const refreshed = await Promise.all([password(), password(), password()]);
  t.equal(new Set(refreshed).size, 1);
  t.not(password.current()?.grantId, firstGrant, 'a fresh grant');
  t.equal((await issuedCount()) - before, 2);
});

t.test("dab's errors surface as typed errors", async (t) => {
  const denied = dabPassword({ url, bearer, database: 'orders', access: 'rw' });
  const error = await denied().catch((err: unknown) => err);
  t.ok(error instanceof DabProblemError, 'a DabProblemError');
  t.match(error, { status: 403, code: 'access_denied', requestId: /^[0-9a-f-]{36}$/ });
  await t.rejects(requestCredentials({ url, bearer: 'x.y.z', database: 'orders', access: 'ro' }), { name: 'DabProblemError', status: 401, code: 'unauthenticated' });
  await t.rejects(requestCredentials({ url: 'http://127.0.0.1:1', bearer, database: 'orders', access: 'ro' }), DabUnreachableError);
  const failing = dabPassword({ url: 'http://127.0.0.1:1', bearer, database: 'orders', access: 'ro' });
  await t.rejects(failing(), DabUnreachableError);
  await t.rejects(failing(), DabUnreachableError, 'a failure is not cached; each connection attempt asks again');
});
