// Mapping changes reach the other replicas by LISTEN/NOTIFY at once (migration 014's trigger), with
// the version poll left as the bound when the notification path is down. On the embedded store the
// two apps share one PGlite, whose NOTIFY reaches its own listeners; on PostgreSQL each app holds
// its own LISTEN connection, which the last test kills.
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { createAssumeRole } from '../../src/aws/sts-client.js';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import type { Store } from '../../src/store/store.js';
import { startHarness, type Harness } from '../support/harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A second replica on the harness's store (its own caches, its own LISTEN). */
async function replica(t: { teardown(fn: () => unknown): void }, h: Harness, store: Store = h.store): Promise<FastifyInstance> {
  const aws = createAssumeRole(h.config.sts, h.sts.baseCredentials);
  const other = await buildApp(h.config, { store, assumeRole: aws.assumeRole, logStream: { write: () => true } as never });
  await other.ready();
  t.teardown(async () => {
    await other.close();
    aws.destroy();
  });
  return other;
}

const grantOn = (app: FastifyInstance, bearer: string) =>
  app.inject({ method: 'POST', url: '/v1/credentials', payload: { database: 'orders', access: 'ro' }, headers: { authorization: `Bearer ${bearer}` } });

/** Milliseconds until `app` answers `status` for this caller (polling), or throws past the limit. */
async function msUntil(app: FastifyInstance, bearer: string, status: number, limitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await grantOn(app, bearer)).statusCode === status) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`still not ${status} after ${limitMs} ms`);
    await sleep(10);
  }
}

// The poll alone would take a minute: whatever is faster than that is the notification.
const POLL_A_MINUTE = (c: Record<string, any>) => (c.accessModel = { ...c.accessModel, maxStalenessMs: 60_000 });

t.test('a grant and a revoke through one replica are enforced by another at once, not at its next poll', async (t) => {
  const h = await startHarness(t, { config: POLL_A_MINUTE });
  const other = await replica(t, h);
  await h.registerOrders();
  const bearer = await h.token('app-notify');
  t.equal((await grantOn(other, bearer)).statusCode, 403, 'not mapped yet (the other replica has loaded its model)');
  const id = await h.map('app-notify', 'orders', ['ro']);
  t.ok((await msUntil(other, bearer, 200, 2000)) < 2000, 'the new mapping is honoured within 2 s, with a 60 s poll');
  const del = await h.app.inject({ method: 'DELETE', url: `/v1/mappings/${id}`, headers: { authorization: `Bearer ${await h.adminToken()}`, 'if-match': '"1"' } });
  t.equal(del.statusCode, 204);
  t.ok((await msUntil(other, bearer, 403, 2000)) < 2000, 'the revoke is enforced within 2 s');
  // A DBA's own SQL fires the same trigger.
  await h.store.query(`INSERT INTO mappings (id, name, issuer, subject, database_name, levels) VALUES (gen_random_uuid(), 'by-sql', $1, 'app-notify', 'orders', '{ro}')`, [h.issuer.issuer]);
  t.ok((await msUntil(other, bearer, 200, 2000)) < 2000, 'a mapping added by SQL is honoured at once too');
});

t.test('the notification carries the version, so the next poll does not reload the model again', async (t) => {
  const h = await startHarness(t);
  const heard: string[] = [];
  const listener = h.store.listen!('dab_access_model', { onNotify: (p) => heard.push(p), onListening: () => undefined, onLost: () => undefined });
  await listener.start();
  t.teardown(() => listener.stop());
  t.ok(listener.listening);
  await h.registerOrders();
  const { rows } = await h.store.query<{ v: string }>('SELECT version::text AS v FROM access_model_version');
  const deadline = Date.now() + 2000;
  while (!heard.includes(rows[0]!.v) && Date.now() < deadline) await sleep(10);
  t.ok(heard.includes(rows[0]!.v), `the payload is the new version (${rows[0]!.v}; heard ${heard.join(',')})`);
});

t.test('with no notification path, the poll still bounds staleness by maxStalenessMs', async (t) => {
  const h = await startHarness(t, { config: (c) => (c.accessModel = { ...c.accessModel, maxStalenessMs: 300 }) });
  // A store that cannot LISTEN (or whose LISTEN connection is down and not yet back).
  const deaf: Store = { ...h.store, listen: undefined };
  const other = await replica(t, h, deaf);
  await h.registerOrders();
  const bearer = await h.token('app-deaf');
  t.equal((await grantOn(other, bearer)).statusCode, 403);
  await h.map('app-deaf', 'orders', ['ro']);
  const first = await grantOn(other, bearer);
  await sleep(320);
  t.equal((await grantOn(other, bearer)).statusCode, 200, 'enforced once maxStalenessMs has passed');
  t.ok([200, 403].includes(first.statusCode), 'before that, either answer is within the contract');
});

// Killing the LISTEN connection needs a server (the embedded store has no connection to kill).
if (process.env.DATABASE_URL) {
  t.test('a killed LISTEN connection comes back by itself, and notifications work again', async (t) => {
    const h = await startHarness(t, { config: POLL_A_MINUTE });
    const other = await replica(t, h);
    await h.registerOrders();
    const bearer = await h.token('app-relisten');
    t.equal((await grantOn(other, bearer)).statusCode, 403);
    const { rows } = await h.store.query<{ db: string }>('SELECT current_database() AS db');
    const url = urlForDatabase(process.env.DATABASE_URL as string, rows[0]!.db);
    const listeners = async () => (await h.store.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dab-listen' AND datname = current_database()")).rows[0]!.n;
    t.equal(await listeners(), 2, 'each replica holds its own LISTEN connection');
    await runSqlOnce(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dab-listen' AND datname = current_database()");
    const deadline = Date.now() + 5000;
    await sleep(50);
    while ((await listeners()) < 2 && Date.now() < deadline) await sleep(50);
    t.equal(await listeners(), 2, 'both reconnected within 5 s');
    t.ok(h.logs.some((l) => l.includes('access-model LISTEN connection lost')), 'the loss is logged');
    await h.map('app-relisten', 'orders', ['ro']);
    t.ok((await msUntil(other, bearer, 200, 2000)) < 2000, 'a change after the reconnect is heard at once, with a 60 s poll');
  });
}
