import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { dabVersion } from '../dab-version.js';
import type { PoolStats, Store } from '../store/store.js';

export type Metrics = ReturnType<typeof createMetrics>;

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry (the metrics listener serves it on metrics.port). */
    metricsRegistry: Registry;
  }
}

/** One registry per app instance: no global state shared between tests or instances. */
export function createMetrics() {
  const registry = new Registry();
  // prom-client's process_* and nodejs_* series under their standard names, which stock Node.js
  // dashboards and alerts look for (a prefix would hide them).
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'dab_build_info', help: 'Always 1; the labels say which dab and Node.js this is', labelNames: ['version', 'node_version'], registers: [registry] })
    .set({ version: dabVersion(), node_version: process.version }, 1);
  return {
    registry,
    grants: new Counter({ name: 'dab_grants_total', help: 'Credential requests by outcome and access level', labelNames: ['outcome', 'level', 'reason'], registers: [registry] }),
    assumeRole: new Counter({ name: 'dab_sts_assume_role_total', help: 'AssumeRole calls by result', labelNames: ['result'], registers: [registry] }),
    rdsTokens: new Counter({ name: 'dab_rds_tokens_total', help: 'RDS auth tokens handed out: signed, or reused within their signing second', labelNames: ['source'], registers: [registry] }),
    callerIdentity: new Counter({ name: 'dab_sts_get_caller_identity_total', help: 'GetCallerIdentity calls verifying AWS callers, by result', labelNames: ['result'], registers: [registry] }),
    sessionCache: new Counter({ name: 'dab_sts_session_cache_total', help: 'STS session cache lookups', labelNames: ['result'], registers: [registry] }),
    auditWrite: new Histogram({ name: 'dab_audit_write_seconds', help: 'Time a grant waits for its audit row to commit (queueing included)', labelNames: ['result'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [registry] }),
    auditBatchRows: new Histogram({ name: 'dab_audit_batch_rows', help: 'Audit rows per group-commit INSERT', labelNames: ['result'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers: [registry] }),
    auditFlush: new Histogram({ name: 'dab_audit_flush_seconds', help: 'Latency of one group-commit INSERT (the commit every row in it waits for)', labelNames: ['result'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [registry] }),
    verifiedTokenCache: new Counter({ name: 'dab_verified_token_cache_total', help: 'Bearer JWTs answered from the verified-token cache (hit) or verified against the JWKS (miss)', labelNames: ['result'], registers: [registry] }),
    authFailures: new Counter({ name: 'dab_auth_failures_total', help: 'Rejected bearer tokens by reason', labelNames: ['reason'], registers: [registry] }),
    connectionsCut: new Counter({ name: 'dab_http_connections_cut_total', help: 'Connections dab cut: request/header timeouts, malformed requests, or over listen.maxConnections', labelNames: ['reason'], registers: [registry] }),
    rateLimited: new Counter({ name: 'dab_rate_limited_total', help: 'Requests refused with 429, by tier and by what was limited (identity or source_ip)', labelNames: ['tier', 'key'], registers: [registry] }),
    rateLimitAuditRows: new Counter({ name: 'dab_rate_limit_audit_rows_total', help: 'Rate-limit audit rows (started + summary) by write result', labelNames: ['result'], registers: [registry] }),
    requestDuration: new Histogram({ name: 'dab_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route', 'status'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry] }),
  };
}

/**
 * A gauge read when Prometheus scrapes (a cache's size, the age of the oldest unsealed row). A read
 * that fails (store unreachable) reports NaN rather than failing the whole scrape.
 */
export function gaugeAtScrape(metrics: Metrics, name: string, help: string, read: () => number | Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [metrics.registry],
    async collect() {
      try {
        this.set(await read());
      } catch {
        this.set(Number.NaN);
      }
    },
  });
}

/**
 * The store's pg pool, read at scrape time. In use = total - idle; waiting above 0 means grants queue
 * for a connection (raise store.poolMax, or the store is slow). The embedded store has no pool: NaN.
 */
export function registerPoolGauges(metrics: Metrics, store: Pick<Store, 'poolStats'>): void {
  const read = (field: keyof PoolStats) => () => (store.poolStats ? store.poolStats()[field] : Number.NaN);
  gaugeAtScrape(metrics, 'dab_store_pool_connections', 'Connections the store pool holds open (busy or idle)', read('total'));
  gaugeAtScrape(metrics, 'dab_store_pool_idle_connections', 'Open store connections that are idle', read('idle'));
  gaugeAtScrape(metrics, 'dab_store_pool_waiting_queries', 'Queries waiting for a store connection', read('waiting'));
  gaugeAtScrape(metrics, 'dab_store_pool_max_connections', 'The store pool\'s size limit (store.poolMax)', read('max'));
}

/** Times every request by its route pattern (not its URL, so cardinality stays bounded). */
export function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
