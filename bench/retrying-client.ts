// A client that retries as a well-behaved app would (connection errors, 502, 503; with backoff)
// and keeps the grant id of every 200, so the bench and the e2e tests can check each against the
// store: no 200 may lack its committed audit row.
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadEntry } from './load-protocol.js';

export interface RetryingRun {
  /** Requests that ended in 200 (after retries, if any). */
  ok: number;
  grantIds: string[];
  /** Attempts that failed and were retried, by kind: "503", "502", "ECONNRESET", ... */
  retried: Record<string, number>;
  /** Requests that still failed after every retry: a client would have seen these. */
  failed: number;
  /** Answers other than 200 that are not retried (403, 429, ...), by status and problem code: a wrong answer, not an outage. */
  otherStatuses: Record<string, number>;
  elapsedMs: number;
  /** 200s answered after `at.action` ran: the fleet kept serving. */
  okAfterAction: number;
}

export interface RetryingLoad {
  url: string;
  entries: LoadEntry[];
  concurrency: number;
  durationMs: number;
  maxAttempts?: number;
  /** Called once, this many ms into the run (kill a replica, say). */
  at?: { ms: number; action: () => unknown };
}

const RETRYABLE_STATUS = new Set([502, 503]);

function errorKind(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; code?: string; message?: string };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? 'error';
}

function problemCode(text: string): string {
  try {
    return String((JSON.parse(text) as { code?: unknown }).code ?? '');
  } catch {
    return '';
  }
}

export async function runRetryingLoad(load: RetryingLoad): Promise<RetryingRun> {
  const maxAttempts = load.maxAttempts ?? 8;
  const run: RetryingRun = { ok: 0, grantIds: [], retried: {}, failed: 0, otherStatuses: {}, elapsedMs: 0, okAfterAction: 0 };
  let acted = false;
  const started = Date.now();
  const deadline = started + load.durationMs;
  let next = 0;
  const note = (kind: string) => void (run.retried[kind] = (run.retried[kind] ?? 0) + 1);
  const timer = load.at
    ? setTimeout(() => {
        acted = true;
        void load.at!.action();
      }, load.at.ms)
    : undefined;

  async function once(entry: LoadEntry): Promise<void> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${load.url}/v1/credentials`, {
          method: 'POST',
          headers: { authorization: `Bearer ${entry.token}`, 'content-type': 'application/json' },
          body: entry.body,
          signal: AbortSignal.timeout(15_000),
        });
      } catch (err) {
        note(errorKind(err));
        await sleep(20 * attempt);
        continue;
      }
      const text = await res.text().catch(() => '');
      if (res.status === 200) {
        run.ok += 1;
        if (acted) run.okAfterAction += 1;
        run.grantIds.push((JSON.parse(text) as { grantId: string }).grantId);
        return;
      }
      if (RETRYABLE_STATUS.has(res.status)) {
        note(String(res.status));
        await sleep(20 * attempt);
        continue;
      }
      // Keyed by status and problem code ("429 mint_budget_exceeded"), so a failure names its cause.
      const key = `${res.status} ${problemCode(text)}`.trim();
      run.otherStatuses[key] = (run.otherStatuses[key] ?? 0) + 1;
      return;
    }
    run.failed += 1;
  }

  await Promise.all(
    Array.from({ length: load.concurrency }, async () => {
      while (Date.now() < deadline) await once(load.entries[next++ % load.entries.length]!);
    }),
  );
  if (timer) clearTimeout(timer);
  run.elapsedMs = Date.now() - started;
  return run;
}

/** How many of these grant ids have no committed credential.issued row (must be 0). */
export async function grantsWithoutRow(query: (sql: string, params: unknown[]) => Promise<{ rows: Array<{ n: number }> }>, grantIds: string[]): Promise<number> {
  if (grantIds.length === 0) return 0;
  const { rows } = await query("SELECT count(*)::int AS n FROM audit_events WHERE event_id = ANY($1::uuid[]) AND event_type = 'credential.issued'", [grantIds]);
  return grantIds.length - Number(rows[0]?.n ?? 0);
}
