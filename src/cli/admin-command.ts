import { EXIT_HELP } from './admin-client.js';
import { ADMIN_APPLY_HELP, ADMIN_DELETE_HELP, ADMIN_PUT_HELP, adminApplyCommand, adminDeleteCommand, adminPutCommand } from './admin-apply-command.js';
import { ADMIN_BOOTSTRAP_HELP, ADMIN_CHECK_HELP, adminBootstrapCommand, adminCheckCommand } from './admin-bootstrap-command.js';
import { ADMIN_EXPLAIN_HELP, adminExplainCommand } from './admin-explain-command.js';
import { ADMIN_EXPORT_HELP, ADMIN_GET_HELP, ADMIN_LIST_HELP, adminExportCommand, adminGetCommand, adminListCommand } from './admin-read-commands.js';
import { AccessFileError, formatProblem } from './admin-yaml.js';
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

/** Subcommands register here; each lives in its own file. */
export const ADMIN_SUBCOMMANDS: Record<string, Sub> = {
  apply: { help: ADMIN_APPLY_HELP, run: adminApplyCommand },
  export: { help: ADMIN_EXPORT_HELP, run: adminExportCommand },
  get: { help: ADMIN_GET_HELP, run: adminGetCommand },
  list: { help: ADMIN_LIST_HELP, run: adminListCommand },
  put: { help: ADMIN_PUT_HELP, run: adminPutCommand },
  delete: { help: ADMIN_DELETE_HELP, run: adminDeleteCommand },
  explain: { help: ADMIN_EXPLAIN_HELP, run: adminExplainCommand },
  bootstrap: { help: ADMIN_BOOTSTRAP_HELP, run: adminBootstrapCommand },
  check: { help: ADMIN_CHECK_HELP, run: adminCheckCommand },
};

export async function adminCommand(args: string[], io: CliIo): Promise<void> {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(ADMIN_HELP);
    return;
  }
  const sub = ADMIN_SUBCOMMANDS[name];
  if (!sub) throw usage(`unknown admin command "${name}": ${Object.keys(ADMIN_SUBCOMMANDS).join(', ')}`);
  if ((rest.includes('--help') || rest.includes('-h'))) {
    io.out(sub.help);
    return;
  }
  try {
    await sub.run(rest, io);
  } catch (err) {
    if (!(err instanceof AccessFileError)) throw err;
    // One line per problem, FILE:LINE:COL: first (editors and CI annotate from these), then the verdict.
    for (const p of err.problems) io.err(formatProblem(err.file, p));
    const n = err.problems.length;
    throw new CliError(`${err.file}: ${n} problem${n === 1 ? '' : 's'} to fix; nothing was changed`, EXIT.usage);
  }
}
