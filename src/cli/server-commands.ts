import { loadConfig, loadStoreConfig } from '../config/load-config.js';
import { serveForever } from '../server.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open-store.js';
import { usage, type CliIo } from './cli-errors.js';

export const SERVE_HELP = `Usage: dab serve

Runs dab in the foreground: opens the store (DATABASE_URL; or, only when store.embedded is true /
DAB_STORE_EMBEDDED=true, the embedded store in store.dataDir — neither stops start-up), applies
migrations under an advisory lock (unless store.migrateOnStart is false),
and listens on listen.host:listen.port. Configuration: the YAML/JSON file named by DAB_CONFIG,
overridden by environment variables (README lists every setting). SIGTERM/SIGINT drain and exit.`;

export const MIGRATE_HELP = `Usage: dab migrate

Applies pending migrations to the configured store and exits. Safe while other instances start:
migrations run under an advisory lock. In production run it as the schema owner role, then
deploy/postgres/dab-store-grants.sql (README, "Deploying"). Reads only the store settings
(DATABASE_URL, or the store section of DAB_CONFIG): no issuers or keys needed.`;

function noArgs(args: string[]): void {
  if (args.length) throw usage(`unexpected argument "${args[0]}"`);
}

export async function serveCommand(args: string[], io: CliIo): Promise<void> {
  noArgs(args);
  await serveForever(loadConfig(io.env));
}

export async function migrateCommand(args: string[], io: CliIo): Promise<void> {
  noArgs(args);
  const store = await openStore(loadStoreConfig(io.env), () => undefined);
  try {
    const { applied } = await migrate(store);
    io.out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'the store is up to date; nothing to apply');
  } finally {
    await store.close();
  }
}
