import t from 'tap';
import { signToken as signNow, type SignToken } from '../../src/aws/token-signer.js';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import type { Store } from '../../src/store/store.js';
import { startHarness, type Harness } from '../support/harness.js';

// Group commit (src/audit/audit-writer.ts) on the grant path: concurrent grants share one INSERT,
// each is answered only after that INSERT committed, and a batch that fails fails every grant in it.

/** Holds the app's audit INSERTs (not its other queries) until opened: batches become predictable. */
function auditGate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const gate = {
    held: 0,
    closed: true,
    /** Rows per audit INSERT the app sent, in order. */
    batches: [] as number[],
    open() {
      gate.closed = false;
      open();
    },
    wrap(inner: Store): Store {
      return {
        ...inner,
        async query(sql, params) {
          if (sql.startsWith('INSERT INTO audit_events')) {
            gate.batches.push(sql.split('), (').length);
            if (gate.closed) {
              gate.held += 1;
              await opened;
            }
          }
          return inner.query(sql, params);
        },
      };
    },
  };
  return gate;
}

function recordingSigner(): { signToken: SignToken; minted: string[] } {
  const minted: string[] = [];
  return { minted, signToken: async (request) => { const token = await signNow(request); minted.push(token); return token; } };
}

// One flush slot on both stores (the embedded one always has one): while the held INSERT is in
// flight, every later row must queue, so batch composition does not depend on timing.
const ONE_SLOT = (raw: Record<string, any>) => {
  raw.audit.maxConcurrentFlushes = 1;
};

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Distinct callers (no token or session is shared between them), all mapped through one group. */
async function callers(h: Harness, n: number): Promise<string[]> {
  await h.registerOrders();
  await h.map('group:payments', 'orders', ['ro']);
  return Promise.all(Array.from({ length: n }, (_, i) => h.token(`caller-${i}`, ['payments'])));
}

/** One grant held at the gate, then `bodies` grants queued behind it; returns every response. */
async function heldThenQueued(h: Harness, gate: ReturnType<typeof auditGate>, bearers: string[], reasons: string[]) {
  const answered: boolean[] = [];
  const first = h.grant(bearers[0] as string, { database: 'orders', access: 'ro', reason: 'first' });
  await until('the first INSERT to reach the gate', () => gate.held === 1);
  const rest = reasons.map((reason, i) => {
    const res = h.grant(bearers[i + 1] as string, { database: 'orders', access: 'ro', reason });
    void res.then(() => (answered[i] = true));
    return res;
  });
  await until('every later row to queue behind it', () => h.app.auditWriter.queued === reasons.length);
  return { first, rest, answered };
}

t.test('concurrent grants share INSERTs; every 200 has its committed row', async (t) => {
  const gate = auditGate();
  const h = await startHarness(t, { config: ONE_SLOT, wrapStore: (s) => gate.wrap(s) });
  const n = 24;
  // One caller: its STS session is cached by the first grant, so the queued ones need no AssumeRole
  // (on a loaded machine, 25 of them could time out and turn grants into audited STS failures).
  const [bearer] = await callers(h, 1);
  const bearers = Array<string>(n + 1).fill(bearer as string);
  const { first, rest, answered } = await heldThenQueued(h, gate, bearers, Array.from({ length: n }, (_, i) => `queued ${i}`));
  t.equal(answered.filter(Boolean).length, 0, 'no queued grant is answered before its row is written');
  t.equal((await h.auditRows("event_type = 'credential.issued'")).length, 0, 'nothing committed yet');
  gate.open();
  const responses = await Promise.all([first, ...rest]);
  t.same(responses.map((r) => r.statusCode), Array(n + 1).fill(200), `every grant answered 200 (${responses.find((r) => r.statusCode !== 200)?.body})`);
  t.same(gate.batches, [1, n], 'the first row alone (the writer was idle), then every queued row in one INSERT');

  const rows = await h.auditRows("event_type = 'credential.issued'");
  t.equal(rows.length, n + 1, 'one row per grant');
  for (const res of responses) {
    const { grantId, token } = res.json();
    const row = rows.find((r) => r.event_id === grantId);
    t.ok(row, `grant ${grantId} has its committed row`);
    t.notOk(JSON.stringify(row).includes(token), 'the row holds no token');
  }
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /dab_audit_batch_rows_sum\{result="ok"\} 25\b/);
  t.match(metrics, /dab_audit_batch_rows_count\{result="ok"\} 2\b/);
  t.match(metrics, /dab_audit_flush_seconds_count\{result="ok"\} 2\b/);
});

t.test('one bad row fails its whole batch: every grant in it is a 503 and no token leaves', async (t) => {
  const gate = auditGate();
  const signer = recordingSigner();
  const h = await startHarness(t, { config: ONE_SLOT, wrapStore: (s) => gate.wrap(s), deps: { signToken: signer.signToken } });
  const bearers = await callers(h, 7);
  // A real database-side failure of one row (not a mocked function): the statement, so the batch, fails.
  await h.store.exec(`CREATE FUNCTION poison_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.caller_reason = 'poison' THEN RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER poison_row BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION poison_row();`);
  const { first, rest } = await heldThenQueued(h, gate, bearers, ['a', 'b', 'poison', 'c', 'd']);
  gate.open();
  t.equal((await first).statusCode, 200, 'the batch before is unaffected');
  const failed = await Promise.all(rest);
  t.same(gate.batches, [1, 5]);
  for (const res of failed) {
    t.equal(res.statusCode, 503);
    t.equal(res.json().code, 'audit_unavailable');
    t.ok(res.headers['retry-after']);
    t.notOk(res.body.includes('disk full'), 'no internals in the error body');
  }
  t.equal(signer.minted.length, 6, 'every grant had minted its token before the write');
  const issued = await h.auditRows("event_type = 'credential.issued'");
  t.same(issued.map((r) => r.caller_reason), ['first'], 'no row of the failed batch committed');
  const everything = failed.map((r) => r.body).join('\n') + JSON.stringify(await h.auditRows()) + h.logs.join('\n');
  for (const token of signer.minted.slice(1)) t.notOk(everything.includes(token), 'a token of the failed batch is in no body, row or log');

  const again = await h.grant(bearers[6] as string, { database: 'orders', access: 'ro', reason: 'after' });
  t.equal(again.statusCode, 200, 'the writer carries on after a failed batch');
});

t.test('close writes what is queued before the store goes', async (t) => {
  const gate = auditGate();
  const h = await startHarness(t, { config: ONE_SLOT, wrapStore: (s) => gate.wrap(s) });
  const bearers = await callers(h, 4);
  const { first, rest } = await heldThenQueued(h, gate, bearers, ['x', 'y', 'z']);
  const closing = h.app.close();
  gate.open();
  await closing;
  t.equal((await h.auditRows("event_type = 'credential.issued'")).length, 4, 'committed by the time close resolves');
  const responses = await Promise.all([first, ...rest]);
  t.same(responses.map((r) => r.statusCode), [200, 200, 200, 200], 'grants queued at close are written and answered');
  await t.rejects(h.app.auditWriter.write({ eventId: '00000000-0000-7000-8000-000000000000', occurredAt: new Date(), eventType: 'x', outcome: 'failed', reason: 'x' }), { name: 'AuditWriterClosedError' });
});

// Killing the store's connection needs a server (the embedded store has no connection to kill).
if (process.env.DATABASE_URL) {
  t.test('a connection lost mid-commit fails every grant of that batch', async (t) => {
    const gate = auditGate();
    const signer = recordingSigner();
    const h = await startHarness(t, { config: ONE_SLOT, wrapStore: (s) => gate.wrap(s), deps: { signToken: signer.signToken } });
    const bearers = await callers(h, 5);
    // The batch holding the 'slow' row stays inside its INSERT long enough to be killed there.
    await h.store.exec(`CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.caller_reason = 'slow' THEN PERFORM pg_sleep(30); END IF; RETURN NEW; END $$;
      CREATE TRIGGER slow_row BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION slow_row();`);
    const { rows } = await h.store.query<{ db: string }>('SELECT current_database() AS db');
    const url = urlForDatabase(process.env.DATABASE_URL as string, rows[0]!.db);
    const { first, rest } = await heldThenQueued(h, gate, bearers, ['a', 'slow', 'b', 'c']);
    gate.open();
    t.equal((await first).statusCode, 200);
    const sleeping = async () => (await h.store.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()")).rows[0]!.n;
    while ((await sleeping()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await runSqlOnce(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()");
    const failed = await Promise.all(rest);
    t.same(failed.map((r) => r.statusCode), [503, 503, 503, 503]);
    t.ok(failed.every((r) => r.json().code === 'audit_unavailable'));
    t.same((await h.auditRows("event_type = 'credential.issued'")).map((r) => r.caller_reason), ['first']);
    const everything = failed.map((r) => r.body).join('\n') + JSON.stringify(await h.auditRows()) + h.logs.join('\n');
    for (const token of signer.minted.slice(1)) t.notOk(everything.includes(token), 'no token of the killed batch anywhere');
  });
}
