import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { DabStreamError, streamAuditExport } from '../client/audit-export-client.js';
import { DabProblemError, DabUnreachableError } from '../client/dab-client.js';
import { CliError, EXIT, parseFailure, usage, type CliIo } from './cli-errors.js';
import { bearerToken, CONNECTION_OPTIONS, dabUrl } from './dab-connection.js';

export const AUDIT_EXPORT_HELP = `Usage: dab audit export [filters] [--format ndjson|csv] [--output FILE] [options]

Streams every audit event matching the filters, oldest first: NDJSON (one JSON event per line)
or CSV (RFC 4180 with a header row; cells that a spreadsheet would run as a formula start with ').
Memory stays flat however many events match. Progress goes to stderr.

Filters (optional, combined with AND):
      --from TIME          events at or after this instant (RFC 3339, e.g. 2026-05-01T00:00:00Z)
      --to TIME            events before this instant
      --event-type TYPE    e.g. credential.issued, credential.denied, mapping.updated
      --outcome OUTCOME    issued, denied, failed or succeeded
      --issuer URL         the caller's token issuer
      --subject SUBJECT    the caller's subject
      --group GROUP        the caller's groups include GROUP
      --database NAME      a registered database
      --level LEVEL        ro, rw or monitor
      --db-user USER       the DB user granted
      --grant-id UUID      one event, by id
      --request-id ID      the events one request wrote (dab's request id)
      --trace-id ID        the events of one W3C trace (the caller's traceparent)

Options:
      --format FORMAT      ndjson (default) or csv
  -o, --output FILE        write to FILE instead of stdout; FILE appears only once complete
      --order ORDER        asc (default, oldest first) or desc
      --url URL            dab's base URL (env DAB_URL)
      --token JWT          an auditor's bearer token (env DAB_TOKEN)
      --token-command CMD  a command that prints one (env DAB_TOKEN_COMMAND)
      --timeout SECONDS    give up when dab sends nothing for this long (default 60)
  -h, --help               this help

Exit codes: 0 ok, 2 usage (including filters dab refused), 4 dab unreachable, 5 not an auditor,
6 token rejected, 7 dab unavailable or the export broke off (no FILE is left behind), 1 anything else.`;

// CLI flag → query parameter of GET /v1/audit/export.
const FILTER_FLAGS = {
  from: 'from',
  to: 'to',
  'event-type': 'eventType',
  outcome: 'outcome',
  issuer: 'issuer',
  subject: 'subject',
  group: 'group',
  database: 'database',
  level: 'level',
  'db-user': 'dbUser',
  'grant-id': 'grantId',
  'request-id': 'requestId',
  'trace-id': 'traceId',
} as const;
const FORMATS = ['ndjson', 'csv'] as const;
const PROGRESS_INTERVAL_MS = 250;

export async function auditExportCommand(args: string[], io: CliIo): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        ...Object.fromEntries(Object.keys(FILTER_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
        format: { type: 'string', default: 'ndjson' },
        output: { type: 'string', short: 'o' },
        order: { type: 'string', default: 'asc' },
        ...CONNECTION_OPTIONS,
        timeout: { type: 'string', default: '60' },
      },
    }));
  } catch (err) {
    throw parseFailure(err);
  }
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw usage('--format must be ndjson or csv');
  if (values.order !== 'asc' && values.order !== 'desc') throw usage('--order must be asc or desc');
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw usage('--timeout must be a positive number of seconds');
  const url = dabUrl(values.url as string | undefined, io);
  const query: Record<string, string> = { format, order: values.order };
  for (const [flag, param] of Object.entries(FILTER_FLAGS)) {
    const value = (values as Record<string, unknown>)[flag];
    if (typeof value === 'string') query[param] = value;
  }

  const output = typeof values.output === 'string' ? values.output : undefined;
  // Written beside the target and renamed at the end, so a FILE on disk is always a whole export.
  const partial = output ? join(dirname(output), `.${basename(output)}.${process.pid}.partial`) : undefined;
  const file = partial ? createWriteStream(partial, { mode: 0o600 }) : undefined;
  const sink: NodeJS.WritableStream = file ?? io.stdout ?? process.stdout;
  let sinkError: Error | undefined;
  // One settled promise for "the output broke", whenever it happens (even before the first chunk).
  const sinkFailed = new Promise<never>((_, reject) => sink.on('error', (err: Error) => reject((sinkError ??= err))));
  sinkFailed.catch(() => undefined);

  const count = recordCounter(format);
  const started = Date.now();
  let records = 0;
  let shown = 0;
  const rate = () => Math.round(records / Math.max((Date.now() - started) / 1000, 0.001));
  try {
    const chunks = streamAuditExport({
      url,
      bearer: () => bearerToken(values.token as string | undefined, values['token-command'] as string | undefined, io),
      query,
      idleTimeoutMs: timeout * 1000,
    });
    for await (const chunk of chunks) {
      if (sinkError) throw writeFailed(sinkError, output);
      records += count(chunk);
      if (!sink.write(chunk)) await Promise.race([once(sink, 'drain'), sinkFailed]);
      if (io.status && Date.now() - shown >= PROGRESS_INTERVAL_MS) {
        shown = Date.now();
        io.status(`exported ${exported(records, format)} events (${rate()}/s)`);
      }
    }
    if (file && partial && output) {
      file.end();
      await finished(file);
      await rename(partial, output);
    }
  } catch (err) {
    if (file && partial) {
      file.destroy();
      await rm(partial, { force: true });
    }
    throw explain(sinkError && !(err instanceof CliError) ? writeFailed(sinkError, output) : err, url, exported(records, format), output);
  } finally {
    io.status?.('');
  }
  io.err(`exported ${exported(records, format)} events (${rate()}/s)${output ? ` to ${output}` : ''}`);
}

/** Events so far: CSV's first record is its header. */
const exported = (records: number, format: string) => (format === 'csv' ? Math.max(records - 1, 0) : records);

/**
 * Counts records as bytes pass by, without parsing them: NDJSON ends each with a newline; in CSV a
 * value may contain newlines, but only inside quotes, and a quote inside quotes is doubled, so
 * tracking the quote parity is enough.
 */
function recordCounter(format: (typeof FORMATS)[number]): (chunk: Uint8Array) => number {
  const NEWLINE = 0x0a;
  const QUOTE = 0x22;
  if (format === 'ndjson') {
    return (chunk) => {
      let n = 0;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++;
      return n;
    };
  }
  let quoted = false;
  return (chunk) => {
    let n = 0;
    for (const byte of chunk) {
      if (byte === QUOTE) quoted = !quoted;
      else if (byte === NEWLINE && !quoted) n++;
    }
    return n;
  };
}

function writeFailed(err: Error, output: string | undefined): CliError {
  const code = (err as NodeJS.ErrnoException).code ?? err.message;
  return new CliError(`cannot write ${output ?? 'to stdout'} (${code})`, EXIT.failure);
}

// A 400 names query parameters; the person typed flags.
const asFlags = (text: string) =>
  text.replace(/querystring\.([A-Za-z]+)/g, (_, name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

function explain(err: unknown, url: string, done: number, output: string | undefined): Error {
  if (err instanceof CliError) return err;
  if (err instanceof DabStreamError) {
    return new CliError(`the export broke off after ${done} events: ${err.message}${output ? `; ${output} was not written` : ''}. Run it again`, EXIT.unavailable);
  }
  if (err instanceof DabUnreachableError) return new CliError(`${err.message}: is dab running there? Check --url / DAB_URL`, EXIT.unreachable);
  if (!(err instanceof DabProblemError)) return new CliError(`unexpected failure: ${(err as Error).message ?? String(err)}`, EXIT.failure);
  const ref = err.requestId ? ` (request ${err.requestId})` : '';
  const detail = err.detail ? `: ${asFlags(err.detail)}` : '';
  if (err.status === 400) return new CliError(`dab refused the filters${detail} (see --help)`, EXIT.usage);
  if (err.status === 401) return new CliError(`dab rejected your token${detail}: get a fresh one (DAB_TOKEN / DAB_TOKEN_COMMAND)${ref}`, EXIT.unauthenticated);
  if (err.status === 403 && err.code === 'forbidden') return new CliError(`dab refused${detail}; exporting the audit log needs an auditor's token${ref}`, EXIT.denied);
  if (err.status === 403) return new CliError(`dab refused (${err.code})${detail}${ref}`, EXIT.denied);
  if (err.status >= 500) return new CliError(`dab could not export the log (${err.code}${detail})${err.retryAfterSeconds ? `; retry in ${err.retryAfterSeconds} s` : ''}${ref}`, EXIT.unavailable);
  return new CliError(`dab refused the request at ${url} (${err.status} ${err.code}${detail})${ref}`, EXIT.failure);
}
