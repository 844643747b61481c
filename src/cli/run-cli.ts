import { ConfigError } from '../config/load-config.js';
import { ACCESS_HELP, accessCommand } from './access-command.js';
import { ADMIN_HELP, adminCommand } from './admin-command.js';
import { AUDIT_HELP, auditCommand } from './audit-command.js';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';
import { CREDS_HELP, credsCommand } from './creds-command.js';
import { SANDBOX_HELP, sandboxCommand } from './sandbox-command.js';
import { MIGRATE_HELP, SERVE_HELP, migrateCommand, serveCommand } from './server-commands.js';

const HELP = `dab — database access broker

Usage: dab <command> [options]

Commands:
  creds      Get short-lived credentials for a database (for applications and engineers)
  access     List the databases and access levels you can get
  admin      Manage databases and mappings, e.g. from an access.yaml in git (for DBAs)
  audit      Export and verify the audit log (for auditors)
  serve      Run the HTTP service (config: DAB_CONFIG file + environment; see README)
  migrate    Apply the store's database migrations and exit
  sandbox    Run dab locally with a demo IdP, STS emulator and database (insecure, local only)
  start      sandbox when no configuration is given (no DAB_CONFIG / DAB_ISSUERS), else serve

Run "dab <command> --help" for a command's options.`;

/** `subcommands`: the command routes --help itself ("dab admin apply --help" is apply's help). */
type Command = { help: string; run: (args: string[], io: CliIo) => Promise<void>; subcommands?: boolean };

const configured = (io: CliIo) => Boolean(io.env.DAB_CONFIG || io.env.DAB_ISSUERS);

const COMMANDS: Record<string, Command> = {
  creds: { help: CREDS_HELP, run: credsCommand },
  access: { help: ACCESS_HELP, run: accessCommand },
  admin: { help: ADMIN_HELP, run: adminCommand, subcommands: true },
  audit: { help: AUDIT_HELP, run: auditCommand, subcommands: true },
  serve: { help: SERVE_HELP, run: serveCommand },
  migrate: { help: MIGRATE_HELP, run: migrateCommand },
  sandbox: { help: SANDBOX_HELP, run: sandboxCommand },
  start: {
    help: 'Usage: dab start\n\nRuns "dab sandbox" when no configuration is given, otherwise "dab serve".',
    run: (args, io) => (configured(io) ? serveCommand(args, io) : sandboxCommand(args, io)),
  },
};

/** Runs one CLI command; resolves to the exit code. Expected failures print one line, no stack. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      io.out(HELP);
      return EXIT.ok;
    }
    const command = COMMANDS[name];
    if (!command) throw usage(`unknown command "${name}"`);
    if ((rest.includes('--help') || rest.includes('-h')) && !(command.subcommands && rest[0] && !rest[0].startsWith('-'))) {
      io.out(command.help);
      return EXIT.ok;
    }
    await command.run(rest, io);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`dab: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.err(`dab: ${err.message}`);
      return EXIT.config;
    }
    io.err(`dab: ${(err as Error).message ?? String(err)}`);
    return EXIT.failure;
  }
}
