import { fork } from 'node:child_process';

/** One request variant: a caller's bearer JWT and a JSON body it is allowed to ask for. */
export interface LoadEntry {
  token: string;
  body: string;
}

/** One load phase against one server; the request variants are those last sent with `entries`. */
export interface LoadJob {
  url: string;
  path: string;
  connections: number;
  seconds: number;
  /** Keep going past `seconds` until at least this many requests were sent (warm-ups: every variant once). */
  minRequests?: number;
}

/** What the parent sends the load generator: the variants to rotate through (once per mix), or a run. */
export type LoadMessage = { kind: 'entries'; entries: LoadEntry[] } | { kind: 'run'; job: LoadJob };

export interface LoadResult {
  /** Count per HTTP status code, e.g. { "200": 12000 }. */
  statusCodes: Record<string, number>;
  ok2xx: number;
  non2xx: number;
  /** Connection errors and timeouts: requests that got no HTTP answer at all. */
  errors: number;
  /** From the first request sent to the last response received. */
  elapsedSeconds: number;
  okPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export type LoadReply = { ok: true; result: LoadResult } | { ok: false; error: string };

/** Most time a warm-up may take past its duration to send every variant once (misses are slow). */
export const WARMUP_EXTRA_SECONDS = 420;
/** How long past its deadline a run may take before the parent gives up on the generator. */
const RUN_GRACE_MS = 30_000;
/** The longest a run may last by design: its duration, plus the extra a warm-up may take. */
export const runDeadlineSeconds = (job: LoadJob): number => job.seconds + (job.minRequests ? WARMUP_EXTRA_SECONDS : 0);

export interface LoadGenerator {
  /** Sets the request variants the following runs rotate through. */
  setEntries(entries: LoadEntry[]): void;
  run(job: LoadJob): Promise<LoadResult>;
  /** Ends the generator process (idempotent). */
  close(): void;
}

/**
 * The load generator as one long-lived child process, so its CPU and event loop never share a
 * thread with a server it measures, and a phase does not pay for a fork, autocannon's start-up
 * and megabytes of JWTs over IPC. Runs are sequential; a run that overstays kills the child.
 */
export function startLoadGenerator(): LoadGenerator {
  const script = new URL('./load-generator.js', import.meta.url);
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let pending: { resolve: (r: LoadResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  let gone: string | undefined;
  const settle = (fn: (p: NonNullable<typeof pending>) => void) => {
    const p = pending;
    pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      fn(p);
    }
  };
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  child.on('message', (message) => {
    const reply = message as LoadReply;
    settle((p) => (reply.ok ? p.resolve(reply.result) : p.reject(new Error(`load generator failed: ${reply.error}`))));
  });
  child.once('error', (err) => settle((p) => p.reject(err)));
  child.once('exit', (code, signal) => {
    gone = `load generator exited (${signal ?? code})`;
    settle((p) => p.reject(new Error(gone!)));
  });
  const send = (message: LoadMessage) => {
    if (gone) throw new Error(gone);
    child.send(message);
  };
  return {
    setEntries: (entries) => send({ kind: 'entries', entries }),
    run(job) {
      if (pending) return Promise.reject(new Error('load generator: one run at a time'));
      return new Promise<LoadResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          kill();
          settle((p) => p.reject(new Error(`load generator did not finish within ${runDeadlineSeconds(job)}s + ${RUN_GRACE_MS / 1000}s`)));
        }, runDeadlineSeconds(job) * 1000 + RUN_GRACE_MS);
        pending = { resolve, reject, timer };
        try {
          send({ kind: 'run', job });
        } catch (err) {
          settle((p) => p.reject(err as Error));
        }
      });
    },
    close: kill,
  };
}
