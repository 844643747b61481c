import { awsCallerFields, insertAuditEvent, traceFields, type AuditEvent } from '../audit/audit-repo.js';
import { uuidV7 } from '../audit/uuid-v7.js';
import type { Caller } from '../auth/caller.js';
import type { Metrics } from '../http/metrics.js';
import type { TraceFields } from '../http/trace-context.js';
import type { Store } from '../store/store.js';

/** Who was refused, as the audit row names them: an identity, or (unauthenticated) a source address. */
export interface Refused {
  key: string;
  tier: string;
  actor: Caller | null;
  sourceIp: string;
  userAgent: string | null;
  requestId: string;
  /** The trace headers of that request (src/http/trace-context.ts), like requestId: the window's first. */
  trace?: TraceFields | null;
}

interface Window extends Refused {
  firstAt: Date;
  lastAt: Date;
  refused: number;
}

export interface RefusalAuditDeps {
  store: Store;
  /** Key of the rows' MACs (src/audit/event-mac.ts). */
  macKey: Buffer;
  metrics: Metrics;
  log: { warn(obj: object, msg: string): void };
  windowSeconds: number;
  maxOpenWindows: number;
  now?: () => Date;
}

/**
 * Records rate-limit refusals in the audit log without a row per refused request: at most two rows
 * per key per window. `rate_limit.started` is written at the first refusal (so a flood is on record
 * at once, durably, even if dab then crashes), and `rate_limit.summary` with the count when the
 * window closes (or when dab shuts down). A crash loses only the count of the windows then open;
 * dab_rate_limited_total has it up to the last scrape. Open windows are bounded: past
 * maxOpenWindows the oldest is closed early (its summary written), never dropped.
 */
export function createRefusalAudit({ store, macKey, metrics, log, windowSeconds, maxOpenWindows, now = () => new Date() }: RefusalAuditDeps) {
  const windows = new Map<string, Window>();
  const pending = new Set<Promise<void>>();

  // The one place refusal rows are written.
  function write(eventType: 'rate_limit.started' | 'rate_limit.summary', w: Window): void {
    const event: AuditEvent = {
      eventId: uuidV7(),
      occurredAt: eventType === 'rate_limit.started' ? w.firstAt : now(),
      eventType,
      outcome: 'denied',
      reason: 'rate_limited',
      requestId: w.requestId,
      actor: w.actor ? { issuer: w.actor.issuer, subject: w.actor.subject, groups: w.actor.groups } : null,
      sourceIp: w.sourceIp,
      userAgent: w.userAgent,
      details: { tier: w.tier, windowSeconds, refused: w.refused, firstAt: w.firstAt.toISOString(), lastAt: w.lastAt.toISOString() },
      ...awsCallerFields(w.actor),
      ...traceFields(w.trace),
    };
    const done = insertAuditEvent(store, event, macKey).then(
      () => void metrics.rateLimitAuditRows.inc({ result: 'written' }),
      (err: Error) => {
        metrics.rateLimitAuditRows.inc({ result: 'failed' });
        log.warn({ err: { message: err.message }, eventType, tier: w.tier }, 'rate-limit audit row not written');
      },
    );
    pending.add(done);
    void done.finally(() => pending.delete(done));
  }

  function closeWindow(key: string, w: Window): void {
    windows.delete(key);
    write('rate_limit.summary', w);
  }

  // Windows close on a sweep, not a timer each: one timer however many keys are refused.
  const sweep = setInterval(() => {
    const cutoff = now().getTime() - windowSeconds * 1000;
    for (const [key, w] of windows) if (w.firstAt.getTime() <= cutoff) closeWindow(key, w);
  }, Math.min(1000, windowSeconds * 1000));
  sweep.unref();

  return {
    refused(who: Refused): void {
      const at = now();
      const open = windows.get(who.key);
      if (open) {
        open.refused++;
        open.lastAt = at;
        return;
      }
      const w: Window = { ...who, firstAt: at, lastAt: at, refused: 1 };
      windows.set(who.key, w);
      write('rate_limit.started', w);
      if (windows.size > maxOpenWindows) {
        const [oldestKey, oldest] = windows.entries().next().value as [string, Window];
        closeWindow(oldestKey, oldest);
      }
    },
    get openWindows(): number {
      return windows.size;
    },
    /** Writes the summaries of every open window and waits for all rows: call on shutdown. */
    async close(): Promise<void> {
      clearInterval(sweep);
      for (const [key, w] of windows) closeWindow(key, w);
      await Promise.all([...pending]);
    },
  };
}
