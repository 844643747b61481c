import type { FastifyBaseLogger } from 'fastify';
import { Counter } from 'prom-client';
import type { Config } from '../config/config-schema.js';
import { gaugeAtScrape, type Metrics } from '../http/metrics.js';
import type { Queryable, Store } from '../store/store.js';
import { claimDue, countUndelivered, enqueueDeliveries, markDelivered, markFailed, type DeliveryRow } from './deliveries-repo.js';
import type { NotifyEvent } from './notify-event.js';
import { jsonPayload, signatureHeader, SIGNATURE_HEADER, slackPayload } from './webhook-payloads.js';

type NotifyConfig = Config['notify'];
type Webhook = NotifyConfig['webhooks'][number];

export interface NotifierDeps {
  store: Store;
  config: NotifyConfig;
  metrics: Metrics;
  now: () => Date;
  log: FastifyBaseLogger;
  /** Runs before each delivery round (the access-request expiry sweep shares this timer). */
  onTick?: () => Promise<void>;
}

export type Notifier = ReturnType<typeof createNotifier>;

/** Exponential backoff before attempt n+1 (n attempts made): base · 2^(n-1), capped. */
export const backoffMs = (attempts: number, base: number, max: number) => Math.min(max, base * 2 ** Math.max(0, attempts - 1));

/**
 * Webhooks from an outbox in the store. enqueue() writes in the transaction of the change it
 * reports; a timer delivers due rows, each attempt bounded by timeoutMs, and a failure (non-2xx,
 * refused, hung) schedules a retry with backoff until maxAttempts. Deliveries are at least once:
 * receivers dedupe on x-dab-delivery.
 */
export function createNotifier({ store, config, metrics, now, log, onTick }: NotifierDeps) {
  const byName = new Map(config.webhooks.map((w) => [w.name, w]));
  const deliveries = new Counter({ name: 'dab_notify_deliveries_total', help: 'Webhook delivery attempts by webhook and result (delivered, failed, gave_up)', labelNames: ['webhook', 'result'], registers: [metrics.registry] });
  gaugeAtScrape(metrics, 'dab_notify_undelivered', 'Webhook deliveries waiting in the outbox (neither delivered nor given up)', () => countUndelivered(store));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const wants = (w: Webhook, type: string) => !w.events || w.events.includes(type);

  async function attempt(row: DeliveryRow): Promise<void> {
    const hook = byName.get(row.webhook);
    const at = now();
    if (!hook) {
      await markFailed(store, row.id, 'webhook no longer configured', null, at);
      deliveries.inc({ webhook: row.webhook, result: 'gave_up' });
      return;
    }
    const event = row.payload as NotifyEvent;
    const body = JSON.stringify(hook.format === 'slack' ? slackPayload(event) : jsonPayload(event));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-dab-event': row.event_type, 'x-dab-delivery': row.id };
    if (hook.secret) headers[SIGNATURE_HEADER] = signatureHeader(hook.secret, body, at);
    let error: string | undefined;
    try {
      const res = await fetch(hook.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(config.timeoutMs), redirect: 'manual' });
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error;
      error = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${config.timeoutMs} ms` : `unreachable: ${(e.cause as Error | undefined)?.message ?? e.message}`;
    }
    const done = now();
    if (!error) {
      await markDelivered(store, row.id, done);
      deliveries.inc({ webhook: row.webhook, result: 'delivered' });
      return;
    }
    const attempts = row.attempts + 1;
    const giveUp = attempts >= config.maxAttempts;
    await markFailed(store, row.id, error, giveUp ? null : new Date(done.getTime() + backoffMs(attempts, config.baseBackoffMs, config.maxBackoffMs)), done);
    deliveries.inc({ webhook: row.webhook, result: giveUp ? 'gave_up' : 'failed' });
    // The URL may carry a token (Slack's do): only the webhook's name is logged.
    log.warn({ webhook: row.webhook, delivery: row.id, attempts, error, gaveUp: giveUp }, 'webhook delivery failed');
  }

  /** One round: the tick hook, then every due delivery (in small parallel batches). */
  async function runOnce(): Promise<void> {
    if (onTick) await onTick().catch((err: Error) => log.warn({ err: err.message }, 'access-request sweep failed'));
    for (let round = 0; round < 10 && !stopped; round++) {
      const due = await claimDue(store, now(), config.timeoutMs * 2 + 1000, 20);
      if (due.length === 0) return;
      await Promise.all(due.map((row) => attempt(row).catch((err: Error) => log.warn({ err: err.message, delivery: row.id }, 'webhook delivery bookkeeping failed'))));
    }
  }

  function tick(): void {
    running ??= runOnce()
      .catch((err: Error) => log.warn({ err: err.message }, 'webhook round failed'))
      .finally(() => {
        running = undefined;
      });
  }

  return {
    /** Queues the event for every webhook that wants it, inside the change's transaction. */
    async enqueue(tx: Queryable, event: NotifyEvent): Promise<void> {
      const hooks = config.webhooks.filter((w) => wants(w, event.type)).map((w) => w.name);
      if (hooks.length) await enqueueDeliveries(tx, hooks, event.type, event.request.id, event, new Date(event.at));
    },
    /** Deliver soon (after a commit), without waiting for the next poll. */
    kick(): void {
      if (!stopped && config.pollIntervalMs > 0) setImmediate(tick);
    },
    runOnce,
    start(): void {
      if (config.pollIntervalMs === 0 || timer) return;
      timer = setInterval(tick, config.pollIntervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
