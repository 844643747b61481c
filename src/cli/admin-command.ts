import { EXIT_HELP } from './admin-client.js';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';

export const ADMIN_HELP = `Usage: dab admin <command> [options]

Commands for DBAs (a DBA's (admin) bearer token in --token / DAB_TOKEN, dab in --url / DAB_URL):
  apply      make dab match an access document (access.yaml in git): -f FILE [--dry-run] [--prune]
  export     write every database and mapping as an access document (what apply reads)
  get        show one database or mapping (YAML or JSON)
  list       list databases or mappings, with filters
  put        create or update the databases and mappings in a file, leaving the rest alone
  delete     delete databases or mappings by name
  explain    would this caller get this access, and which mapping decides it?
  bootstrap  the SQL and IAM policy to prepare a registered database
  check      preflight a registered database: roles, STS, tokens

Every change (apply, put, delete) prints its plan — what is created, updated or deleted and
which principals gain or lose access — and accepts --dry-run to only show it.

Run "dab admin <command> --help" for options.

${EXIT_HELP}`;

type Sub = { help: string; run: (args: string[], io: CliIo) => Promise<void> };

/** Subcommands register here; each lives in its own file, imported only when it runs. */
export const ADMIN_SUBCOMMANDS: Record<string, () => Promise<Sub>> = {
  apply: async () => {
    const m = await import('./admin-apply-command.js');
    return { help: m.ADMIN_APPLY_HELP, run: m.adminApplyCommand };
  },
  export: async () => {
    const m = await import('./admin-read-commands.js');
    return { help: m.ADMIN_EXPORT_HELP, run: m.adminExportCommand };
  },
  get: async () => {
    const m = await import('./admin-read-commands.js');
    return { help: m.ADMIN_GET_HELP, run: m.adminGetCommand };
  },
  list: async () => {
    const m = await import('./admin-read-commands.js');
    return { help: m.ADMIN_LIST_HELP, run: m.adminListCommand };
  },
  put: async () => {
    const m = await import('./admin-apply-command.js');
    return { help: m.ADMIN_PUT_HELP, run: m.adminPutCommand };
  },
  delete: async () => {
    const m = await import('./admin-apply-command.js');
    return { help: m.ADMIN_DELETE_HELP, run: m.adminDeleteCommand };
  },
  explain: async () => {
    const m = await import('./admin-explain-command.js');
    return { help: m.ADMIN_EXPLAIN_HELP, run: m.adminExplainCommand };
  },
  bootstrap: async () => {
    const m = await import('./admin-bootstrap-command.js');
    return { help: m.ADMIN_BOOTSTRAP_HELP, run: m.adminBootstrapCommand };
  },
  check: async () => {
    const m = await import('./admin-bootstrap-command.js');
    return { help: m.ADMIN_CHECK_HELP, run: m.adminCheckCommand };
  },
};

export async function adminCommand(args: string[], io: CliIo): Promise<void> {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(ADMIN_HELP);
    return;
  }
  const load = Object.hasOwn(ADMIN_SUBCOMMANDS, name) ? ADMIN_SUBCOMMANDS[name] : undefined;
  if (!load) throw usage(`unknown admin command "${name}": ${Object.keys(ADMIN_SUBCOMMANDS).join(', ')}`);
  const sub = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(sub.help);
    return;
  }
  try {
    await sub.run(rest, io);
  } catch (err) {
    // Only a command that read a file can fail this way, and it has loaded admin-yaml already.
    const { AccessFileError, formatProblem } = await import('./admin-yaml.js');
    if (!(err instanceof AccessFileError)) throw err;
    // One line per problem, FILE:LINE:COL: first (editors and CI annotate from these), then the verdict.
    for (const p of err.problems) io.err(formatProblem(err.file, p));
    const n = err.problems.length;
    throw new CliError(`${err.file}: ${n} problem${n === 1 ? '' : 's'} to fix; nothing was changed`, EXIT.usage);
  }
}
