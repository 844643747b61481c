import { parseArgs } from 'node:util';
import { checkArchiveFile } from '../audit/archive-file.js';
import { archiveAuditLog, ArchiveRefusedError, mayArchive, planArchive } from '../audit/audit-archive.js';
import { createAuditSealer } from '../audit/audit-sealer.js';
import { loadCheckpointKey } from '../audit/checkpoint-signer.js';
import { ConfigError, eventMacKeyBytes, loadConfig } from '../config/load-config.js';
import { openStore } from '../store/open-store.js';
import { sqlState } from '../store/store.js';
import { CliError, EXIT, parseFailure, usage, type CliIo } from './cli-errors.js';

export const AUDIT_ARCHIVE_HELP = `Usage: dab audit archive --before DATE --output FILE
       dab audit archive --check FILE

Retention. Moves every sealed event older than DATE out of the store into FILE (NDJSON: the seals
and their events, exactly as sealed), then removes them and records an audit.archived event that
carries a record signed with the checkpoint key. The seal chain itself stays in the store, so
"dab audit verify" keeps verifying from the start, and FILE can be checked against it any time.
Only whole seals go, only if they verify, and nothing is removed before FILE is on disk.

Runs against the store directly, like "dab migrate", with dab's configuration (DAB_CONFIG and the
environment): DATABASE_URL must name the schema owner role (the runtime role cannot remove events),
and audit.checkpointKeyFile must be set. With the embedded store, stop dab first.

Options:
      --before DATE    archive events that occurred before this instant (RFC 3339, e.g. 2025-01-01T00:00:00Z)
  -o, --output FILE    where to write the archive (must not exist)
      --check FILE     check an archive file on its own: every event against its seal, every seal's hash and link
  -h, --help           this help

Exit codes: 0 done (or nothing old enough), 8 the range or file does not verify (nothing removed),
3 configuration, 2 usage, 1 anything else.`;

export async function auditArchiveCommand(args: string[], io: CliIo): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { before: { type: 'string' }, output: { type: 'string', short: 'o' }, check: { type: 'string' } } }));
  } catch (err) {
    throw parseFailure(err);
  }
  if (values.check) {
    if (values.before || values.output) throw usage('--check goes alone');
    return checkFile(values.check, io);
  }
  if (!values.before || !values.output) throw usage('give --before DATE and --output FILE (or --check FILE)');
  const before = new Date(values.before);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(values.before) || Number.isNaN(before.getTime())) throw usage('--before must be an RFC 3339 instant, e.g. 2025-01-01T00:00:00Z');
  if (before.getTime() > Date.now()) throw usage('--before is in the future');

  const config = loadConfig(io.env);
  if (!config.audit.checkpointKeyFile) {
    throw new ConfigError('config audit.checkpointKeyFile (DAB_AUDIT_CHECKPOINT_KEY_FILE): archiving needs it, so that deleted history can never pass for archived');
  }
  const key = loadCheckpointKey(config.audit.checkpointKeyFile);
  const store = await openStore(config.store, () => undefined);
  try {
    if (!(await mayArchive(store))) throw new CliError('this role does not own audit_events: run archive with the schema owner role (the runtime role may only add to the log)', EXIT.failure);
    // Seal whatever is final first, so "older than DATE" is not held back by a sealer that is not running.
    await createAuditSealer({ store, now: () => new Date(), batchSize: config.audit.sealBatchSize, intervalMs: 0, log: { warn: () => undefined } }).sealNow();
    const range = await planArchive(store, key, before);
    if (!range) {
      io.out(`nothing to archive: no sealed events before ${before.toISOString()} that are not archived already`);
      return;
    }
    const { record, eventId } = await archiveAuditLog(store, key, { range, output: values.output, before, now: new Date(), macKey: eventMacKeyBytes(config.audit) });
    io.out(
      `archived ${range.events} events (ids ${range.firstId}-${range.lastId}, seals ${range.fromSeq}-${range.throughSeq}) to ${values.output} (sha256 ${record.fileSha256}); recorded as audit event ${eventId}`,
    );
  } catch (err) {
    if (err instanceof ArchiveRefusedError) throw new CliError(`${err.message}; nothing was removed`, err.tampered ? EXIT.tampered : EXIT.failure);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`--output ${values.output} already exists: choose a new file`, EXIT.failure);
    if (sqlState(err) === '42501') throw new CliError(`the store refused to remove events (${(err as Error).message}); nothing was removed`, EXIT.failure);
    throw err;
  } finally {
    await store.close();
  }
}

async function checkFile(path: string, io: CliIo): Promise<void> {
  let result;
  try {
    result = await checkArchiveFile(path);
  } catch (err) {
    throw new CliError(`--check ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.failure);
  }
  if (!result.ok) throw new CliError(`archive ${path} does NOT verify: ${result.problem}`, EXIT.tampered);
  io.out(`archive intact: ${result.events} events in ${result.seals} seals; last seal ${result.last?.seq} (${result.last?.sealHash}), last event ${result.last?.lastId}; sha256 ${result.sha256}`);
}
