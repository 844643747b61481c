import { dabVersion } from '../dab-version.js';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';

const HELP = `dab — database access broker

Usage: dab <command> [options]

Commands:
  creds      Get short-lived credentials for a database (for applications and engineers)
  access     List the databases and access levels you can get
  request    Ask for a level for a while (just-in-time access; --break-glass in emergencies)
  approve    Approve a pending access request (approvers)
  deny       Deny a pending access request (approvers)
  requests   List, show, cancel, revoke or review access requests
  admin      Manage databases and mappings, e.g. from an access.yaml in git (for DBAs)
  audit      Export and verify the audit log (for auditors)
  serve      Run the HTTP service (config: DAB_CONFIG file + environment; see README)
  migrate    Apply the store's database migrations and exit
  sandbox    Run dab locally with a demo IdP, STS emulator and database (insecure, local only)
  start      sandbox when no configuration is given (no DAB_CONFIG / DAB_ISSUERS), else serve

Flags mean the same in every command: -f/--file FILE is a file dab reads, -o/--output FILE a
file it writes, --format the shape of what it prints; --url, --token, --token-command, --timeout.

Run "dab <command> --help" for a command's options, "dab --version" for the version.`;

/** `subcommands`: the command routes --help itself ("dab admin apply --help" is apply's help). */
type Command = { help: string; run: (args: string[], io: CliIo) => Promise<void>; subcommands?: boolean };

const configured = (io: CliIo) => Boolean(io.env.DAB_CONFIG || io.env.DAB_ISSUERS);

/**
 * Each command's module is imported only when that command runs: `dab creds` must not pay for
 * (or be able to break on) the server, the sandbox, the embedded store or the AWS SDK.
 * test/cli/cli-imports.test.ts holds every command to the modules it may load.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  creds: async () => {
    const m = await import('./creds-command.js');
    return { help: m.CREDS_HELP, run: m.credsCommand };
  },
  access: async () => {
    const m = await import('./access-command.js');
    return { help: m.ACCESS_HELP, run: m.accessCommand };
  },
  request: async () => {
    const m = await import('./request-commands.js');
    return { help: m.REQUEST_HELP, run: m.requestCommand };
  },
  approve: async () => {
    const m = await import('./request-commands.js');
    return { help: m.APPROVE_HELP, run: m.approveCommand };
  },
  deny: async () => {
    const m = await import('./request-commands.js');
    return { help: m.DENY_HELP, run: m.denyCommand };
  },
  requests: async () => {
    const m = await import('./request-commands.js');
    return { help: m.REQUESTS_HELP, run: m.requestsCommand, subcommands: true };
  },
  admin: async () => {
    const m = await import('./admin-command.js');
    return { help: m.ADMIN_HELP, run: m.adminCommand, subcommands: true };
  },
  audit: async () => {
    const m = await import('./audit-command.js');
    return { help: m.AUDIT_HELP, run: m.auditCommand, subcommands: true };
  },
  // Their help is read apart: server-commands imports the whole server, sandbox-command the sandbox.
  serve: async () => ({ help: (await import('./server-help.js')).SERVE_HELP, run: async (args, io) => (await import('./server-commands.js')).serveCommand(args, io) }),
  migrate: async () => ({ help: (await import('./server-help.js')).MIGRATE_HELP, run: async (args, io) => (await import('./server-commands.js')).migrateCommand(args, io) }),
  sandbox: async () => ({ help: (await import('./server-help.js')).SANDBOX_HELP, run: async (args, io) => (await import('./sandbox-command.js')).sandboxCommand(args, io) }),
  start: async () => ({
    help: 'Usage: dab start\n\nRuns "dab sandbox" when no configuration is given, otherwise "dab serve".',
    run: async (args, io) => (await (configured(io) ? COMMANDS.serve : COMMANDS.sandbox)!()).run(args, io),
  }),
};

/** Runs one CLI command; resolves to the exit code. Expected failures print one line, no stack. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      io.out(HELP);
      return EXIT.ok;
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      io.out(`dab ${dabVersion()}`);
      return EXIT.ok;
    }
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!load) throw usage(`unknown command "${name}"`);
    const command = await load();
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
    // By name, not instanceof: importing ConfigError would load the config loader (Ajv, YAML) on every call.
    if (err instanceof Error && err.name === 'ConfigError') {
      io.err(`dab: ${err.message}`);
      return EXIT.config;
    }
    // A bug or an unexpected fault: its message, never its class (TypeError, AppError…) or stack.
    io.err(`dab: unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failure;
  }
}
