import t from 'tap';
import { dabRedisCredentials } from '../../src/client/redis-credentials.js';
import { EXTERNAL_ID, ROLE_RO, startHarness } from '../support/harness.js';

// The provider's own rules, against a real dab (buildApp on a port): sharing one grant, refreshing
// it before expiry, and what happens when a re-authentication cannot get a new token.

const h = await startHarness(t);
await h.app.inject({
  method: 'POST', url: '/v1/databases', headers: { authorization: `Bearer ${await h.adminToken()}` },
  payload: { name: 'sessions', engine: 'valkey', host: 'master.sessions.abc123.use1.cache.amazonaws.com', region: 'us-east-1', cacheName: 'sessions', roleArn: ROLE_RO, externalId: EXTERNAL_ID, levels: { ro: { dbUser: 'sessions-ro', accessString: 'on ~* -@all +@read' } } },
});
await h.map('app-cache', 'sessions', ['ro']);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const bearer = await h.token('app-cache');
const issued = async () => (await h.auditRows("event_type = 'credential.issued' AND database_name = 'sessions'")).length;
const noListener = { onNext: () => {}, onError: () => {} };

t.test('new connections share a grant until shortly before it expires', async (t) => {
  let clock = Date.now();
  const provider = dabRedisCredentials({ url, bearer, database: 'sessions', access: 'ro', now: () => clock });
  const before = await issued();
  const subs = await Promise.all(Array.from({ length: 5 }, () => provider.subscribe(noListener)));
  t.equal(new Set(subs.map(([c]) => c.password)).size, 1, 'five connections, one token');
  t.same(subs[0]![0].username, 'sessions-ro');
  t.equal((await issued()) - before, 1);
  const firstGrant = provider.current()?.grantId;
  clock += 14.5 * 60_000; // inside the 60 s refresh window
  const [fresh, sub] = await provider.subscribe(noListener);
  t.not(provider.current()?.grantId, firstGrant, 'a new connection gets a new grant, with time left');
  t.equal((await issued()) - before, 2);
  for (const [, s] of [...subs, [fresh, sub] as const]) s.dispose();
});

t.test('a failed re-authentication fetch is retried, then reported when the 12 h limit is near', async (t) => {
  let clock = Date.now();
  let calls = 0;
  let failing = false;
  const fetchVia: typeof fetch = async (input, init) => {
    calls++;
    if (failing) throw new TypeError('fetch failed');
    return fetch(input, init);
  };
  const provider = dabRedisCredentials({ url, bearer, database: 'sessions', access: 'ro', now: () => clock, fetch: fetchVia, reauthenticateAfterMs: 10, retryMs: 10, refreshBeforeMs: 1000 });
  const errors: Error[] = [];
  const next: string[] = [];
  const [, sub] = await provider.subscribe({ onNext: (c) => next.push(c.password), onError: (e) => errors.push(e) });
  t.teardown(() => sub.dispose());
  failing = true;
  clock += 15 * 60_000; // the grant is stale: re-authentication must fetch, and cannot
  const waitFor = async (done: () => boolean) => {
    while (!done()) await new Promise((r) => setTimeout(r, 5));
  };
  await waitFor(() => calls >= 4);
  t.same(errors, [], 'retried, not given up, while the 12 h limit is far');
  t.same(next, [], 'nothing to hand the connection yet');
  clock += 12 * 60 * 60_000;
  await waitFor(() => errors.length > 0);
  t.match(errors[0], { name: 'DabUnreachableError' }, 'reported once the connection would be closed anyway');
});

t.test('dispose stops re-authentication', async (t) => {
  let calls = 0;
  const fetchVia: typeof fetch = async (input, init) => ((calls++), fetch(input, init));
  const provider = dabRedisCredentials({ url, bearer, database: 'sessions', access: 'ro', fetch: fetchVia, reauthenticateAfterMs: 20, refreshBeforeMs: 15 * 60_000 });
  const next: string[] = [];
  const [, sub] = await provider.subscribe({ onNext: (c) => next.push(c.password), onError: () => {} });
  while (next.length < 1) await new Promise((r) => setTimeout(r, 5));
  sub.dispose();
  const after = next.length;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(next.length, after, 'no onNext after dispose');
  t.ok(calls >= 2, 'each re-authentication asked dab for a token with time left');
});
