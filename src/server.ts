import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { createAssumeRole } from './aws/sts-client.js';
import type { Config } from './config/config-schema.js';
import { startMetricsListener } from './http/metrics-listener.js';
import { replaceSdkNodeWarning, SUPPORTED_NODE } from './node-support.js';
import { migrate } from './store/migrate.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** The metrics listener's URL, when metrics.port is set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/**
 * Opens the store, applies migrations, builds the app and listens. The caller owns shutdown;
 * `serve` wires it to signals with close-with-grace.
 */
export async function startServer(config: Config, opts: { credentials?: Parameters<typeof createAssumeRole>[1] } = {}): Promise<RunningServer> {
  // Before the first AWS SDK client: on Node 20 its nine-line warning becomes one log line below.
  const nodeNotice = replaceSdkNodeWarning();
  const poolErrors: Error[] = [];
  let app: FastifyInstance | undefined;
  const store: Store = await openStore(config.store, (err) => {
    // Logged, not thrown: an idle connection dropping is not a reason to die.
    if (app) app.log.warn({ err: { message: err.message } }, 'store pool connection error');
    else poolErrors.push(err);
  });
  const aws = createAssumeRole(config.sts, opts.credentials);
  try {
    const { applied } = config.store.migrateOnStart ? await migrate(store) : { applied: [] };
    app = await buildApp(config, { store, assumeRole: aws.assumeRole });
    if (applied.length) app.log.info({ applied }, 'migrations applied');
    if (nodeNotice) app.log.warn({ node: process.version, supported: SUPPORTED_NODE }, nodeNotice);
    app.log.info({ store: store.kind }, 'store ready');
    const url = await app.listen({ host: config.listen.host, port: config.listen.port });
    const running = app;
    const metricsListener = config.metrics.port === undefined
      ? undefined
      : await startMetricsListener(app.metricsRegistry, config.metrics.host, config.metrics.port, (err) => running.log.error({ err: { message: err.message } }, 'metrics collection failed'));
    if (metricsListener) app.log.info({ url: metricsListener.url }, 'metrics listener ready');
    return {
      app: running,
      url,
      ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
      async close() {
        await metricsListener?.close();
        await running.close();
        aws.destroy();
        await store.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    aws.destroy();
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** `dab serve`: run until a signal, then drain in-flight requests and close the store. */
export async function serveForever(config: Config): Promise<void> {
  const server = await startServer(config);
  closeWithGrace({ delay: 10_000, logger: { error: (msg: unknown) => server.app.log.error(msg) } }, async ({ err, signal }) => {
    if (err) server.app.log.error({ err }, 'shutting down after an error');
    else server.app.log.info({ signal }, 'shutting down');
    await server.close();
  });
}
