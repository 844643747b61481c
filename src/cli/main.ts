#!/usr/bin/env node
import { ConfigError, loadConfig } from '../config/load-config.js';
import { migrate } from '../store/migrate.js';
import { openStore } from '../store/open-store.js';
import { serveForever } from '../server.js';
import { EXIT, UsageError, fail } from './cli-errors.js';

const HELP = `dab — database access broker

Usage: dab <command> [options]

Commands:
  serve      Run the HTTP service (config from DAB_CONFIG file + environment)
  migrate    Apply database migrations to the store and exit

Run "dab <command> --help" for a command's options. README lists every setting.`;

const COMMANDS: Record<string, { help: string; run: (args: string[]) => Promise<void> }> = {
  serve: {
    help: `Usage: dab serve

Runs dab in the foreground: opens the store (DATABASE_URL, or the embedded store in
store.dataDir), applies migrations under an advisory lock, and listens on listen.host:listen.port.
Configuration: the YAML/JSON file named by DAB_CONFIG, overridden by environment variables.`,
    run: async () => serveForever(loadConfig()),
  },
  migrate: {
    help: `Usage: dab migrate

Applies pending migrations to the configured store and exits. Safe to run while other
instances start: migrations run under an advisory lock.`,
    run: async () => {
      const config = loadConfig();
      const store = await openStore(config.store, () => undefined);
      try {
        const { applied } = await migrate(store);
        console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'store is up to date');
      } finally {
        await store.close();
      }
    },
  },
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"; run "dab --help"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return;
  }
  await command.run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message, EXIT.config);
  if (err instanceof UsageError) fail(err.message, EXIT.usage);
  fail((err as Error).message ?? String(err), EXIT.failure);
});
