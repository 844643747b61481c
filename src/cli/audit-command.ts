import { AUDIT_ARCHIVE_HELP, auditArchiveCommand } from './audit-archive-command.js';
import { AUDIT_EXPORT_HELP, auditExportCommand } from './audit-export-command.js';
import { AUDIT_VERIFY_HELP, auditVerifyCommand } from './audit-verify-command.js';
import { usage, type CliIo } from './cli-errors.js';

export const AUDIT_HELP = `Usage: dab audit <export|verify|archive> [options]

Commands for auditors (an auditor's bearer token in --token / DAB_TOKEN, dab in --url / DAB_URL):
  export    stream events matching a filter as NDJSON or CSV, with a progress line on stderr
  verify    check the tamper-evident chain over a range and report the first broken event
  archive   (operators, direct store access) move sealed events older than a date to a file

Run "dab audit <command> --help" for options.`;

type Sub = { help: string; run: (args: string[], io: CliIo) => Promise<void> };

/** Subcommands register here; each lives in its own file. */
export const AUDIT_SUBCOMMANDS: Record<string, Sub> = {
  export: { help: AUDIT_EXPORT_HELP, run: auditExportCommand },
  verify: { help: AUDIT_VERIFY_HELP, run: auditVerifyCommand },
  archive: { help: AUDIT_ARCHIVE_HELP, run: auditArchiveCommand },
};

export async function auditCommand(args: string[], io: CliIo): Promise<void> {
  const [name, ...rest] = args;
  const sub = name ? AUDIT_SUBCOMMANDS[name] : undefined;
  if (!sub) throw usage(name ? `unknown audit command "${name}"` : 'name an audit command: export, verify or archive');
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(sub.help);
    return;
  }
  await sub.run(rest, io);
}
