import type { Metrics } from '../http/metrics.js';
import { createTokenBuckets } from '../abuse/token-buckets.js';
import { Counter, Gauge } from 'prom-client';

/** The mint budget's settings (config mintBudget): per instance endpoint, for the whole fleet. */
export interface MintBudgetRule {
  enabled: boolean;
  /** New IAM logins per second the fleet may hand tokens out for, per endpoint. */
  perSecond: number;
  /** How many may come at once on top of that rate (a pool opening), for the whole fleet. */
  burst: number;
}

export type MintAdmission = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface MintBudget {
  /** Takes one mint for this endpoint, or says when to come back. Synchronous: no I/O, no promise. */
  take(endpoint: string): MintAdmission;
  /** How many live replicas share the budget (from the heartbeat table; 1 until known). */
  setReplicas(count: number): void;
  readonly replicas: number;
}

// The utilisation gauge's window: long enough to smooth one burst, short enough to show a surge.
const WINDOW_SECONDS = 10;
// Endpoints are registered databases' host:port, so few; bounded anyway (least recent forgotten).
const MAX_ENDPOINTS = 10_000;

interface Demand {
  /** Mint attempts (admitted or refused) per whole second, a ring of WINDOW_SECONDS slots. */
  slots: number[];
  seconds: number[];
}

/**
 * A per-endpoint token bucket, sized as this replica's share of the fleet's budget: perSecond and
 * burst divided by the live replicas (heartbeat table, src/budgets/replica-heartbeat.ts). Behind a
 * load balancer that spreads grants evenly, the shares add up to the budget with no store round trip
 * on the grant path; an uneven balancer makes one replica refuse before the fleet as a whole is at
 * its budget (conservative, never over). Demand is kept per second for the utilisation gauge.
 */
export function createMintBudget(rule: MintBudgetRule, metrics: Metrics, nowMs: () => number = Date.now): MintBudget {
  const buckets = createTokenBuckets({ maxKeys: MAX_ENDPOINTS, now: nowMs });
  const demand = new Map<string, Demand>();
  let replicas = 1;
  // This replica's share, recomputed when the replica count changes rather than on every grant.
  const shareOf = (n: number) => ({ perSecond: rule.perSecond / n, burst: Math.max(1, Math.floor(rule.burst / n)) });
  let share = shareOf(replicas);

  function record(endpoint: string): void {
    const second = Math.floor(nowMs() / 1000);
    let d = demand.get(endpoint);
    if (!d) {
      if (demand.size >= MAX_ENDPOINTS) demand.delete(demand.keys().next().value as string);
      d = { slots: new Array<number>(WINDOW_SECONDS).fill(0), seconds: new Array<number>(WINDOW_SECONDS).fill(-1) };
      demand.set(endpoint, d);
    }
    const i = second % WINDOW_SECONDS;
    if (d.seconds[i] !== second) {
      d.seconds[i] = second;
      d.slots[i] = 0;
    }
    d.slots[i]! += 1;
  }

  /** Attempts per second over the last full window, against this replica's share of the rate. */
  function utilisation(d: Demand): number {
    const now = Math.floor(nowMs() / 1000);
    let sum = 0;
    for (let i = 0; i < WINDOW_SECONDS; i++) if (now - d.seconds[i]! < WINDOW_SECONDS) sum += d.slots[i]!;
    return sum / WINDOW_SECONDS / share.perSecond;
  }

  const refused = new Counter({ name: 'dab_mint_budget_refused_total', help: 'Grants refused (429) because their endpoint was over its mint budget', labelNames: ['endpoint'], registers: [metrics.registry] });
  new Gauge({
    name: 'dab_mint_budget_utilisation',
    help: 'Mint attempts per second over the last 10 s against this replica\'s share of the per-endpoint budget; 1 = at the budget',
    labelNames: ['endpoint'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [endpoint, d] of demand) this.set({ endpoint }, utilisation(d));
    },
  });
  new Gauge({
    name: 'dab_mint_budget_replicas',
    help: 'Live replicas this one shares the mint budget with (itself included)',
    registers: [metrics.registry],
    collect() {
      this.set(replicas);
    },
  });

  return {
    take(endpoint) {
      if (!rule.enabled) return { ok: true };
      record(endpoint);
      const taken = buckets.take(endpoint, share);
      if (!taken.ok) refused.inc({ endpoint });
      return taken;
    },
    setReplicas(count) {
      replicas = Math.max(1, Math.floor(count));
      share = shareOf(replicas);
    },
    get replicas() {
      return replicas;
    },
  };
}

/** The budget's key: the instance endpoint a token is signed for (databases may share one). */
export const endpointOf = (db: { host: string; port: number }): string => `${db.host.toLowerCase()}:${db.port}`;
