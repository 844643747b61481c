import type { Config } from '../config/config-schema.js';
import { createEmbeddedStore } from './embedded-store.js';
import { createPostgresStore } from './postgres-store.js';
import type { Store } from './store.js';

/** DATABASE_URL (store.url) selects a PostgreSQL server; otherwise the embedded store in dataDir. */
export async function openStore(config: Config['store'], onPoolError: (err: Error) => void): Promise<Store> {
  if (config.url) {
    return createPostgresStore({
      url: config.url,
      poolMax: config.poolMax,
      connectionTimeoutMs: config.connectionTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
      onPoolError,
    });
  }
  return createEmbeddedStore(config.dataDir);
}
