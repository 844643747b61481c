import t from 'tap';
import { buildApp } from '../../src/app.js';
import { createAssumeRole } from '../../src/aws/sts-client.js';
import { startHarness } from '../support/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a change made through one instance is enforced by another within maxStalenessMs', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.accessModel = { ...c.accessModel, maxStalenessMs: 300 }) });
  const aws = createAssumeRole(h.config.sts, h.sts.baseCredentials);
  const other = await buildApp(h.config, { store: h.store, assumeRole: aws.assumeRole });
  t.teardown(async () => {
    await other.close();
    aws.destroy();
  });
  await h.registerOrders();
  const mappingId = await h.map('app-orders', 'orders', ['ro']);
  const bearer = await h.token('app-orders');
  const grantOn = (app: typeof other) =>
    app.inject({ method: 'POST', url: '/v1/credentials', payload: { database: 'orders', access: 'ro' }, headers: { authorization: `Bearer ${bearer}` } });

  t.equal((await grantOn(other)).statusCode, 200, 'the other instance grants (and caches the model)');
  const del = await h.app.inject({ method: 'DELETE', url: `/v1/mappings/${mappingId}`, headers: { authorization: `Bearer ${await h.adminToken()}`, 'if-match': '"1"' } });
  t.equal(del.statusCode, 204);
  t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 403, 'the instance that made the change enforces it at once');
  await sleep(350);
  const after = await grantOn(other);
  t.equal(after.statusCode, 403, 'the other instance enforces it after at most maxStalenessMs');

  // A DBA's direct SQL is picked up the same way (the version trigger fires for any writer).
  await h.store.query(`INSERT INTO mappings (id, name, issuer, subject, database_name, levels) VALUES (gen_random_uuid(), 'by-sql', $1, 'app-orders', 'orders', '{ro}')`, [h.issuer.issuer]);
  await sleep(350);
  t.equal((await grantOn(other)).statusCode, 200, 'a mapping added by SQL is honoured');
  t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 200);
});

t.test('mapping expiry needs no reload: it is decided against the clock at request time', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.accessModel = { ...c.accessModel, maxStalenessMs: 60000 }) });
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro'], { expiresAt: new Date(Date.now() + 60_000).toISOString() });
  const bearer = await h.token('app-orders');
  t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 200);
  h.clock.offsetMs = 61_000;
  t.equal((await h.grant(bearer, { database: 'orders', access: 'ro' })).statusCode, 403);
});
