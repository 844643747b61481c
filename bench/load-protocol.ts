import { fork } from 'node:child_process';

/** One request variant: a caller's bearer JWT and a JSON body it is allowed to ask for. */
export interface LoadEntry {
  token: string;
  body: string;
}

/** What the parent sends the load generator (one IPC message). */
export interface LoadJob {
  url: string;
  path: string;
  entries: LoadEntry[];
  connections: number;
  seconds: number;
  /** Keep going past `seconds` until at least this many requests were sent (warm-ups: every variant once). */
  minRequests?: number;
}

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

/** How long past its own duration the child may take before the parent gives up on it. */
const CHILD_GRACE_MS = 20_000;

/**
 * Runs one load phase in a separate process, so the generator's CPU and event loop never share a
 * thread with the server it measures. The child is killed on timeout or when `register` cleanup runs.
 */
export function runLoad(job: LoadJob, register: (cleanup: () => void) => void): Promise<LoadResult> {
  const script = new URL('./load-generator.js', import.meta.url);
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  register(kill);
  return new Promise<LoadResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`load generator did not finish within ${job.seconds}s + ${CHILD_GRACE_MS / 1000}s`));
    }, job.seconds * 1000 + CHILD_GRACE_MS);
    let reply: LoadReply | undefined;
    child.once('message', (message) => {
      reply = message as LoadReply;
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // Settle on exit, not on the message, so no child outlives its phase.
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (reply?.ok) resolve(reply.result);
      else reject(new Error(reply ? `load generator failed: ${reply.error}` : `load generator exited (${signal ?? code}) without a result`));
    });
    child.send(job);
  });
}
