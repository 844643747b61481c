// Replicas of `dab serve` on one PostgreSQL behind a round-robin proxy, as the replica bench runs
// them but small: kill -9 one mid-load (no 200 without its committed audit row, the other keeps
// serving), SIGTERM one mid-load (grants in flight on it finish; new connections go elsewhere; a
// retrying client sees no error). Real processes need a shared store, so those run whenever
// DATABASE_URL is set; the proxy's rerouting, which they rely on, is checked everywhere.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import pg from 'pg';
import t from 'tap';
import { createBenchDatabase, planDistinct, registerBenchFixtures, startBenchSurroundings, writeLoadConfig } from '../../bench/bench-fixtures.js';
import { startReplicas, type Replica } from '../../bench/replica-fleet.js';
import { grantsWithoutRow, runRetryingLoad } from '../../bench/retrying-client.js';
import { startRoundRobinProxy } from '../../bench/round-robin-proxy.js';
import { dabServeEnv } from '../../bench/server-process.js';

async function named(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

t.test('the proxy sends each new connection to the next backend, and past one that refuses', async (t) => {
  const [one, two] = await Promise.all([named('one'), named('two')]);
  const proxy = await startRoundRobinProxy([{ name: 'one', port: one.port }, { name: 'two', port: two.port }]);
  t.teardown(async () => {
    await proxy.close();
    two.server.close();
  });
  const ask = async () => {
    // A fresh connection each time (no keep-alive), so each is routed anew.
    const res = await fetch(`http://127.0.0.1:${proxy.port}/`, { headers: { connection: 'close' } });
    return res.text();
  };
  t.same([await ask(), await ask(), await ask(), await ask()].sort(), ['one', 'one', 'two', 'two'], 'round robin');
  one.server.closeAllConnections();
  await new Promise((resolve) => one.server.close(resolve));
  t.same([await ask(), await ask(), await ask()], ['two', 'two', 'two'], 'the stopped backend is skipped; nobody sees it');
  t.ok(proxy.stats().one!.refused >= 1, 'its refusal was counted');
});

// One fleet for both subtests (set up once: each replica start takes seconds), torn down at the end.
if (process.env.DATABASE_URL) t.test('two replicas of dab serve on one PostgreSQL', async (t) => {
  const serverUrl = process.env.DATABASE_URL as string;
  // The replicas run the TypeScript sources with this test's own loader: no build needed.
  const nodeArgs = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  const mainJs = new URL('../../src/cli/main.ts', import.meta.url).pathname;

  const cleanups: Array<() => unknown> = [];
  t.teardown(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  const db = await createBenchDatabase(serverUrl);
  cleanups.push(() => db.remove());
  const { workDir, sts, issuer } = await startBenchSurroundings((fn) => cleanups.push(fn), 'dab-replica-e2e-');
  // Limits out of the way, as in the replica bench: after one replica stops, the survivor takes all
  // the load while the killed one's heartbeat still holds a share of the mint budget for its TTL,
  // so some grants would get 429, rightly (test/budgets/ tests that). This file is about failover.
  const env = { ...dabServeEnv({ workDir, port: 0, issuer, sts }), DATABASE_URL: db.url, DAB_CONFIG: await writeLoadConfig(workDir), DAB_AUDIT_SEAL_INTERVAL_SECONDS: '1' };
  const spawn = (names: string[]) => startReplicas({ names, env, workDir, mainJs, nodeArgs, register: (p) => cleanups.push(() => p.stop()) });
  const [a, b] = (await spawn(['dab-a', 'dab-b'])) as [Replica, Replica];
  const entries = (await registerBenchFixtures(a.proc.url, issuer, [planDistinct(40)], () => undefined))[0]!;
  const proxy = await startRoundRobinProxy([a, b].map((r) => ({ name: r.name, port: r.port })));
  cleanups.push(() => proxy.close());
  const counter = new pg.Client({ connectionString: db.url });
  await counter.connect();
  cleanups.push(() => counter.end());
  const withoutRow = (ids: string[]) => grantsWithoutRow((sql, params) => counter.query(sql, params), ids);

  await t.test('kill -9 one replica mid-load: every 200 has its committed row, the other keeps serving', async (t) => {
    const run = await runRetryingLoad({ url: `http://127.0.0.1:${proxy.port}`, entries, concurrency: 8, durationMs: 3000, at: { ms: 1000, action: () => process.kill(b.proc.pid, 'SIGKILL') } });
    t.ok(run.ok > 0 && run.okAfterAction > 0, `served before and after the kill (${run.ok} in all, ${run.okAfterAction} after)`);
    t.equal(await withoutRow(run.grantIds), 0, 'no 200 without its committed audit row');
    t.equal(run.failed, 0, 'a retrying client saw no error');
    t.same(run.otherStatuses, {}, `no wrong answers (${run.ok} 200s; retried ${JSON.stringify(run.retried)})`);
  });

  await t.test('SIGTERM one replica mid-load: grants in flight on it finish, new ones go elsewhere', async (t) => {
    const [c] = (await spawn(['dab-c'])) as [Replica];
    proxy.setBackends([a, c].map((r) => ({ name: r.name, port: r.port })));
    // Three grants straight at the replica being stopped, held inside their audit INSERT (a trigger
    // sleeps on their rows) so they are surely in flight when the signal arrives.
    await counter.query(`CREATE FUNCTION held_row() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.caller_reason = 'held' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$;
      CREATE TRIGGER held_row BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION held_row();`);
    t.teardown(() => counter.query('DROP TRIGGER IF EXISTS held_row ON audit_events; DROP FUNCTION IF EXISTS held_row()'));
    const direct = entries.slice(0, 3).map((e) =>
      fetch(`${c.proc.url}/v1/credentials`, { method: 'POST', headers: { authorization: `Bearer ${e.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...JSON.parse(e.body), reason: 'held' }) })
        .then(async (res) => ({ status: res.status, body: (await res.json()) as { grantId?: string } })),
    );
    const sleeping = async () => (await counter.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()")).rows[0]!.n;
    const deadline = Date.now() + 10_000;
    while ((await sleeping()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    t.ok((await sleeping()) > 0, 'the held grants are inside their INSERT');
    let stopMs = 0;
    let stopped: Promise<void> | undefined;
    const run = await runRetryingLoad({
      url: `http://127.0.0.1:${proxy.port}`,
      entries,
      concurrency: 8,
      durationMs: 3000,
      at: {
        ms: 200,
        action: () => {
          const started = Date.now();
          stopped = c.proc.stop().then(() => void (stopMs = Date.now() - started));
        },
      },
    });
    const answered = await Promise.all(direct);
    await stopped;
    t.same(answered.map((x) => x.status), [200, 200, 200], 'grants in flight at SIGTERM were answered');
    t.equal(await withoutRow(answered.map((x) => x.body.grantId!)), 0, 'and committed');
    t.ok(run.okAfterAction > 0, `the other replica kept serving (${run.okAfterAction} after the signal)`);
    t.equal(await withoutRow(run.grantIds), 0, 'no 200 without its committed audit row');
    t.equal(run.failed, 0, 'a retrying client saw no error');
    t.same(run.otherStatuses, {}, `no wrong answers (${run.ok} 200s; retried ${JSON.stringify(run.retried)})`);
    t.ok(stopMs > 0 && stopMs < 11_000, `it drained and exited by itself (${stopMs} ms), before the SIGKILL fallback`);
    const beats = await counter.query<{ n: number }>('SELECT count(*)::int AS n FROM dab_replicas');
    t.equal(beats.rows[0]!.n, 2, 'its heartbeat row went with it (dab-a and the killed dab-b remain, until dab-b\'s expires)');
  });
});
