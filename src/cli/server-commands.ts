import { loadConfig, loadStoreConfig } from '../config/load-config.js';
import { serveForever } from '../server.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open-store.js';
import { usage, type CliIo } from './cli-errors.js';

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
