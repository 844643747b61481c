import { usage, type CliIo } from './cli-errors.js';

export const AUDIT_HELP = `Usage: dab audit <export|verify|archive> [options]

Commands for auditors (an auditor's bearer token in --token / DAB_TOKEN, dab in --url / DAB_URL):
  export    stream events matching a filter as NDJSON or CSV, with a progress line on stderr
  verify    check the tamper-evident chain over a range and report the first broken event
  archive   (operators, direct store access) move sealed events older than a date to a file

Run "dab audit <command> --help" for options.`;

type Sub = { help: string; run: (args: string[], io: CliIo) => Promise<void> };

/**
 * Subcommands register here; each lives in its own file, imported only when it runs (archive
 * opens the store directly; export and verify only talk HTTP).
 */
export const AUDIT_SUBCOMMANDS: Record<string, () => Promise<Sub>> = {
  export: async () => {
    const m = await import('./audit-export-command.js');
    return { help: m.AUDIT_EXPORT_HELP, run: m.auditExportCommand };
  },
  verify: async () => {
    const m = await import('./audit-verify-command.js');
    return { help: m.AUDIT_VERIFY_HELP, run: m.auditVerifyCommand };
  },
  archive: async () => {
    const m = await import('./audit-archive-command.js');
    return { help: m.AUDIT_ARCHIVE_HELP, run: m.auditArchiveCommand };
  },
};

export async function auditCommand(args: string[], io: CliIo): Promise<void> {
  const [name, ...rest] = args;
  const load = name && Object.hasOwn(AUDIT_SUBCOMMANDS, name) ? AUDIT_SUBCOMMANDS[name] : undefined;
  if (!load) throw usage(name ? `unknown audit command "${name}"` : 'name an audit command: export, verify or archive');
  const sub = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(sub.help);
    return;
  }
  await sub.run(rest, io);
}
