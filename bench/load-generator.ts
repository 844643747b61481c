// The load generator: one child process (forked by load-protocol.ts) that drives one server at a
// time with autocannon for a fixed time and reports back over IPC, run after run. Kept out of the
// measured processes so each server under test has its event loop to itself.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { runDeadlineSeconds, type LoadEntry, type LoadJob, type LoadMessage, type LoadReply, type LoadResult } from './load-protocol.js';

// autocannon's Client fields used for the graceful stop; not in @types/autocannon.
interface CannonClient {
  reqsMade: number;
  responseMax: number;
}

// autocannon's own deadline is only a backstop: the graceful stop below normally ends the run.
const BACKSTOP_SECONDS = 10;

function drive(job: LoadJob, entries: LoadEntry[]): Promise<LoadResult> {
  const clients: CannonClient[] = [];
  let next = 0;
  const started = performance.now();
  let lastResponse = started;

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: runDeadlineSeconds(job) + BACKSTOP_SECONDS,
        // The stop flag is only looked at once per sample; a short interval ends the run promptly.
        sampleInt: 100,
        setupClient: (client) => void clients.push(client as unknown as CannonClient),
        requests: [
          {
            method: 'POST',
            path: job.path,
            headers: { 'content-type': 'application/json' },
            // One counter shared by all connections, so they rotate through the callers together
            // instead of all starting at the first one.
            setupRequest: (request) => {
              const entry = entries[next++ % entries.length]!;
              return { ...request, headers: { ...request.headers, authorization: `Bearer ${entry.token}` }, body: entry.body };
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const elapsedSeconds = (lastResponse - started) / 1000;
        const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]));
        resolve({
          statusCodes,
          ok2xx: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          elapsedSeconds,
          okPerSecond: elapsedSeconds > 0 ? result['2xx'] / elapsedSeconds : 0,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
        });
      },
    );
    instance.on('response', () => {
      lastResponse = performance.now();
    });
    // autocannon's duration stop destroys sockets with requests in flight: the server then writes
    // audit rows for answers nobody counted. Instead, at the deadline each connection is allowed
    // no request beyond those already sent, so every request sent is answered and counted.
    const stopGracefully = (): void => {
      if (next < (job.minRequests ?? 0)) return void setTimeout(stopGracefully, 50).unref();
      for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
    };
    setTimeout(stopGracefully, job.seconds * 1000).unref();
  });
}

const reply = (message: LoadReply): void => void process.send?.(message);

// The parent going away (done, crash, Ctrl-C) must not leave this process hammering a port.
process.once('disconnect', () => process.exit(0));
let entries: LoadEntry[] = [];
process.on('message', (message: LoadMessage) => {
  if (message.kind === 'entries') return void (entries = message.entries);
  if (entries.length === 0) return reply({ ok: false, error: 'no request variants were sent before the run' });
  drive(message.job, entries).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
