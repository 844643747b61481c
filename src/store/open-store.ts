import type { Config } from '../config/config-schema.js';
import { ConfigError } from '../config/load-config.js';
import { createEmbeddedStore } from './embedded-store.js';
import { createPostgresStore } from './postgres-store.js';
import type { Store } from './store.js';

/**
 * DATABASE_URL (store.url) selects a PostgreSQL server; store.embedded: true the embedded store in
 * dataDir. Neither stops start-up: production must never be one missing variable away from
 * quietly keeping its records in a local folder.
 */
export async function openStore(config: Config['store'], onPoolError: (err: Error) => void): Promise<Store> {
  if (!config.url && !config.embedded) {
    throw new ConfigError(
      'config store.url (DATABASE_URL): no store chosen; set DATABASE_URL to a PostgreSQL URL, or store.embedded: true (DAB_STORE_EMBEDDED=true) for the local embedded store (not for production)',
    );
  }
  if (config.url) {
    return createPostgresStore({
      url: config.url,
      poolMax: config.poolMax,
      connectionTimeoutMs: config.connectionTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
      preparedStatements: config.preparedStatements,
      onPoolError,
    });
  }
  return createEmbeddedStore(config.dataDir);
}
