// The replica bench's checks other than throughput: propagation of mapping changes, the chain
// after concurrent writers and sealers, kill -9 and SIGTERM of one replica under load.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { OidcIssuer } from '../src/sandbox/oidc-issuer.js';
import type { LoadEntry } from './load-protocol.js';
import type { ProxyProcess, Replica } from './replica-fleet.js';
import { grantsWithoutRow, runRetryingLoad, type RetryingRun } from './retrying-client.js';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;

export interface Spread {
  samples: number[];
  p50Ms: number;
  p99Ms: number;
  worstMs: number;
}

export interface Propagation {
  changes: number;
  /**
   * Per (change, other replica), ms after the change's 2xx on replica A: when the first grant that
   * was answered as the change says was sent (the replica decided it after that, so it enforced the
   * change by then or sooner; the grant before it, sent earlier, still saw the old state) …
   */
  sent: Spread;
  /** … and when that grant was answered: an upper bound that includes a whole grant's latency. */
  answered: Spread;
  timedOut: number;
}

function spread(samples: number[]): Spread {
  const sorted = [...samples].sort((x, y) => x - y);
  return { samples, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), worstMs: sorted[sorted.length - 1] ?? Number.NaN };
}

async function grantStatus(replica: Replica, bearer: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${replica.port}/v1/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ database: 'orders', access: 'ro', reason: 'propagation probe' }),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * `changes` mapping changes through replica A, alternately a grant (POST) and a revoke (DELETE)
 * for one probe caller; after each, the other replicas are polled with grants (back to back, each
 * a few ms) until they answer as the change says. Worst case and p99 over every (change, replica).
 */
export async function measurePropagation(opts: { a: Replica; others: Replica[]; issuer: OidcIssuer; adminToken: string; changes: number; timeoutMs?: number }): Promise<Propagation> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const subject = 'probe-propagation';
  const bearer = await opts.issuer.sign({ sub: subject }, { expiresIn: '1h' });
  const admin = { authorization: `Bearer ${opts.adminToken}`, 'content-type': 'application/json' };
  const base = `http://127.0.0.1:${opts.a.port}`;
  const sent: number[] = [];
  const answered: number[] = [];
  let timedOut = 0;
  let mappingId: string | undefined;
  for (let i = 0; i < opts.changes; i++) {
    const granting = mappingId === undefined;
    const res = granting
      ? await fetch(`${base}/v1/mappings`, { method: 'POST', headers: admin, body: JSON.stringify({ principal: { issuer: opts.issuer.issuer, subject }, database: 'orders', levels: ['ro'] }) })
      : await fetch(`${base}/v1/mappings/${mappingId}`, { method: 'DELETE', headers: { authorization: admin.authorization, 'if-match': '"1"' } });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`change ${i} answered ${res.status}: ${text.slice(0, 500)}`);
    const changedAt = performance.now();
    mappingId = granting ? (JSON.parse(text) as { id: string }).id : undefined;
    const expected = granting ? 200 : 403;
    await Promise.all(
      opts.others.map(async (replica) => {
        for (;;) {
          const sentAt = performance.now();
          if ((await grantStatus(replica, bearer)) === expected) {
            sent.push(Math.max(0, sentAt - changedAt));
            return void answered.push(performance.now() - changedAt);
          }
          if (performance.now() - changedAt > timeoutMs) return void (timedOut += 1);
        }
      }),
    );
    // Changes a little apart, as a DBA's would be, not one burst.
    await sleep(20);
  }
  return { changes: opts.changes, sent: spread(sent), answered: spread(answered), timedOut };
}

export interface Disruption {
  what: string;
  run: RetryingRun;
  /** 200s whose credential.issued row is not in the store: must be 0. */
  withoutRow: number;
  /** How long the disrupted replica took to exit (SIGTERM: its drain). */
  exitMs?: number;
  /** New connections the proxy found refused at the disrupted replica and sent elsewhere. */
  rerouted: number;
}

/**
 * A retrying client's load through the proxy for durationMs; `disrupt` runs a third of the way in.
 * Afterwards every 200's grant id is looked up in the store.
 */
export async function underDisruption(opts: {
  what: string;
  proxy: ProxyProcess;
  target: Replica;
  entries: LoadEntry[];
  counter: pg.Client;
  durationMs: number;
  concurrency: number;
  disrupt: (replica: Replica) => Promise<void>;
}): Promise<Disruption> {
  let exitMs: number | undefined;
  const before = (await opts.proxy.stats())[opts.target.name]?.refused ?? 0;
  const run = await runRetryingLoad({
    url: opts.proxy.url,
    entries: opts.entries,
    concurrency: opts.concurrency,
    durationMs: opts.durationMs,
    at: {
      ms: Math.round(opts.durationMs / 3),
      action: async () => {
        const started = performance.now();
        opts.target.gone = true;
        await opts.disrupt(opts.target);
        exitMs = performance.now() - started;
      },
    },
  });
  const withoutRow = await grantsWithoutRow((sql, params) => opts.counter.query(sql, params), run.grantIds);
  const rerouted = ((await opts.proxy.stats())[opts.target.name]?.refused ?? 0) - before;
  return { what: opts.what, run, withoutRow, ...(exitMs === undefined ? {} : { exitMs }), rerouted };
}

export interface ChainCheck {
  ok: boolean;
  result: string;
  checkedEvents: number;
  checkedSeals: number;
  unsealedEvents: number;
  eventMacsChecked: number | null;
}

/** dab's own verify over the whole store, asked of one replica, once every row is sealed (or 30 s). */
export async function verifyChain(replica: Replica, auditorToken: string, counter: pg.Client): Promise<ChainCheck> {
  const unsealed = async () =>
    Number((await counter.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE id > COALESCE((SELECT max(last_id) FROM audit_seals), 0)')).rows[0]?.n ?? 0);
  const deadline = Date.now() + 30_000;
  while ((await unsealed()) > 0 && Date.now() < deadline) await sleep(250);
  const res = await fetch(`http://127.0.0.1:${replica.port}/v1/audit/verify`, { headers: { authorization: `Bearer ${auditorToken}` } });
  const body = (await res.json()) as { ok: boolean; result: string; checkedEvents: number; checkedSeals: number; unsealedEvents: number; eventMacs: { checked: number } | null };
  if (res.status !== 200) throw new Error(`GET /v1/audit/verify answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return { ok: body.ok, result: body.result, checkedEvents: body.checkedEvents, checkedSeals: body.checkedSeals, unsealedEvents: body.unsealedEvents, eventMacsChecked: body.eventMacs?.checked ?? null };
}
