import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { requestVerification, type Checkpoint, type VerifyOutcome } from '../client/audit-client.js';
import { DabProblemError, DabUnreachableError } from '../client/dab-client.js';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';
import { bearerToken, CONNECTION_OPTIONS, dabUrl } from './dab-connection.js';

export const AUDIT_VERIFY_HELP = `Usage: dab audit verify [--from-id N] [--to-id N] [--checkpoint FILE --public-key FILE] [options]

Checks that the audit log was not edited, deleted from, inserted into or reordered, and that every
event was written by dab: dab recomputes every seal of the hash chain and every sealed event in the
range, checks each event's MAC (a key the database does not hold), and reports the first broken one.

With a checkpoint saved earlier (GET /v1/audit/checkpoints/latest, the log stream, or dab's
audit.checkpointFile; for an NDJSON file the last line is used) and dab's checkpoint public key,
it also catches a database superuser who edited events and recomputed every later seal.

Options:
      --from-id N          first event id to check (default: the first)
      --to-id N            last event id to check (default: the last sealed)
      --checkpoint FILE    a saved signed checkpoint (JSON, or NDJSON: last line)
      --public-key FILE    dab's checkpoint public key, PEM (required with --checkpoint)
      --url URL            dab's base URL (env DAB_URL)
      --token JWT          an auditor's bearer token (env DAB_TOKEN)
      --token-command CMD  a command that prints one (env DAB_TOKEN_COMMAND)
      --timeout SECONDS    give up after this long (default 600)
  -h, --help               this help

Prints one line. Exit codes: 0 intact, 8 tampered (names the first broken event id and kind:
edited, deleted, inserted, reordered, forged, chain_broken, checkpoint_mismatch), 9 unanchored
(nothing is broken, but archived events are missing under an archive record dab cannot authenticate
without its checkpoint key: run again with --checkpoint and --public-key), 1 the checkpoint's
signature does not verify with that key, 2 usage, 4 dab unreachable, 5 not an auditor,
6 token rejected, 7 dab or its store unavailable.`;

export async function auditVerifyCommand(args: string[], io: CliIo): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'from-id': { type: 'string' },
        'to-id': { type: 'string' },
        checkpoint: { type: 'string' },
        'public-key': { type: 'string' },
        ...CONNECTION_OPTIONS,
        timeout: { type: 'string', default: '600' },
      },
    }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  const fromId = eventId(values['from-id'], '--from-id');
  const toId = eventId(values['to-id'], '--to-id');
  if (fromId && toId && fromId > toId) throw usage('--from-id must not be greater than --to-id');
  if (Boolean(values.checkpoint) !== Boolean(values['public-key'])) throw usage('--checkpoint and --public-key go together');
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw usage('--timeout must be a positive number of seconds');
  const url = dabUrl(values.url, io);
  const checkpoint = values.checkpoint
    ? { checkpoint: readCheckpoint(values.checkpoint), publicKeyPem: readText(values['public-key'] as string, '--public-key') }
    : undefined;

  let outcome: VerifyOutcome;
  try {
    outcome = await requestVerification({
      url,
      bearer: () => bearerToken(values.token, values['token-command'], io),
      ...(fromId ? { fromId } : {}),
      ...(toId ? { toId } : {}),
      ...(checkpoint ? { checkpoint } : {}),
      timeoutMs: timeout * 1000,
    });
  } catch (err) {
    throw explain(err, url);
  }
  if (outcome.firstBroken) {
    const b = outcome.firstBroken;
    const where = b.id === null ? `seal ${b.sealSeq}` : `event ${b.id} (seal ${b.sealSeq})`;
    throw new CliError(`audit log TAMPERED: ${b.kind} at ${where} — ${b.detail}; ${outcome.checkedEvents} events checked before it`, EXIT.tampered);
  }
  if (outcome.checkpoint?.status === 'signature_invalid') {
    throw new CliError(`the checkpoint's signature does not verify with ${values['public-key']}: wrong public key, or the checkpoint file was altered (the log itself checked out)`, EXIT.failure);
  }
  if (outcome.result === 'unanchored' && outcome.unanchored) {
    throw new CliError(`audit log UNANCHORED (cannot be proven intact): ${outcome.unanchored.detail}; ${outcome.checkedEvents} events in ${outcome.checkedSeals} seals checked, none broken`, EXIT.unanchored);
  }
  io.out(summary(outcome));
}

function summary(o: VerifyOutcome): string {
  const head = o.head ? `head seal ${o.head.seq} (${o.head.sealHash.slice(0, 12)}…, last event ${o.head.lastId})` : 'nothing sealed yet';
  const archived = o.archived ? `; events up to ${o.archived.lastId} archived (seals 1-${o.archived.throughSeq})` : '';
  const checkpoint = o.checkpoint ? `; checkpoint at seal ${o.checkpoint.seq} ${o.checkpoint.status}` : '';
  const macs = o.eventMacs ? `; ${o.eventMacs.checked} event MACs verified${o.eventMacs.writtenBefore ? `, ${o.eventMacs.writtenBefore} events written before event MACs` : ''}` : '';
  return `audit log intact: ${o.checkedEvents} events in ${o.checkedSeals} seals verified; ${head}; ${o.unsealedEvents} not yet sealed${archived}${macs}${checkpoint}`;
}

function eventId(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw usage(`${flag} must be a positive event id`);
  return Number(raw);
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`${flag} ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, EXIT.failure);
  }
}

/** A checkpoint file: one JSON object, or dab's NDJSON checkpoint log (the newest line counts). */
function readCheckpoint(path: string): Checkpoint {
  const text = readText(path, '--checkpoint').trim();
  const lines = text.split('\n').filter((l) => l.trim());
  for (const candidate of [text, lines[lines.length - 1] ?? '']) {
    try {
      const parsed = JSON.parse(candidate) as Checkpoint;
      if (parsed && typeof parsed === 'object' && typeof parsed.seq === 'number' && typeof parsed.signature === 'string') return parsed;
    } catch {
      // Not this shape; try the next.
    }
  }
  throw new CliError(`--checkpoint ${path}: not a dab checkpoint (expected JSON with seq, sealHash, lastId, at, keyId, signature)`, EXIT.failure);
}

function explain(err: unknown, url: string): Error {
  if (err instanceof CliError) return err;
  if (err instanceof DabUnreachableError) return new CliError(`${err.message}: is dab running there? Check --url / DAB_URL`, EXIT.unreachable);
  if (!(err instanceof DabProblemError)) return new CliError((err as Error).message, EXIT.failure);
  const ref = err.requestId ? ` (request ${err.requestId})` : '';
  const detail = err.detail ? `: ${err.detail}` : '';
  if (err.status === 401) return new CliError(`dab rejected your token${detail}: get a fresh one (DAB_TOKEN / DAB_TOKEN_COMMAND)${ref}`, EXIT.unauthenticated);
  if (err.status === 403) return new CliError(`dab refused: verifying the audit log needs an auditor's token${ref}`, EXIT.denied);
  if (err.status >= 500) return new CliError(`dab could not verify the log (${err.code}${detail})${ref}`, EXIT.unavailable);
  return new CliError(`dab refused the request at ${url} (${err.status} ${err.code}${detail})${ref}`, EXIT.failure);
}
