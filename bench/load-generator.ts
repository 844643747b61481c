// The load generator: a child process (forked by load-protocol.ts) that drives one server with
// autocannon for a fixed time and reports back over IPC. Kept out of the measured process so the
// server under test has its event loop to itself.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { LoadJob, LoadReply, LoadResult } from './load-protocol.js';

// autocannon's Client fields used for the graceful stop; not in @types/autocannon.
interface CannonClient {
  reqsMade: number;
  responseMax: number;
}

// autocannon's own deadline is only a backstop: the graceful stop below normally ends the run.
const BACKSTOP_SECONDS = 10;

function drive(job: LoadJob): Promise<LoadResult> {
  const clients: CannonClient[] = [];
  let next = 0;
  const started = performance.now();
  let lastResponse = started;

  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.seconds + BACKSTOP_SECONDS,
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
              const entry = job.entries[next++ % job.entries.length]!;
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

function reply(message: LoadReply): void {
  process.send?.(message, () => process.disconnect());
}

// The parent going away (crash, Ctrl-C) must not leave this process hammering a port.
process.once('disconnect', () => process.exit(0));
process.once('message', (job: LoadJob) => {
  drive(job).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
