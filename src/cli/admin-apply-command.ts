import { AdminProblemError, ADMIN_OPTIONS, adminCall, connectionFrom, connectionHelp, EXIT_HELP, explainFailure, parseOrUsage, readInput, type AdminConnection } from './admin-client.js';
import { formatPlan, type PlanResult } from './admin-format.js';
import { AccessFileError, parseAccessFile, placeServerProblems, type AccessFile, type PathSegment, type Rebase } from './admin-yaml.js';
import { usage, type CliIo } from './cli-errors.js';

const FILE_FORMAT = `The file (YAML) has two lists, both optional:
  databases:  name, engine? (postgres|mysql), host, port?, region, dbname, roleArn, externalId?, sslmode?,
              description?, labels?, resourceId?, levels: {ro|rw|monitor: {dbUser, roleArn?}}
  mappings:   name, principal {issuer + subject | group | claim: {name, value}} | {aws: <role or
              user ARN>} | {awsAccount: <12 digits>},
              database or selector {label: value}, levels [ro, rw, monitor],
              notBefore?, expiresAt? (ISO 8601), requireReason?, description?, owner?
Names are the keys: a name not in dab yet is created, a known one updated.`;

const PLAN_OUTPUT = `Prints the plan: one line per change (+ create, ~ update, - delete), then every principal
that gains or loses access (marked when the audit log shows it active), then a summary line.`;

export const ADMIN_APPLY_HELP = `Usage: dab admin apply -f FILE [--dry-run] [--prune] [options]

Makes dab's databases and mappings match FILE (an access document, e.g. access.yaml kept in git),
in one transaction. Applying the same file again changes nothing.

Options:
  -f, --file FILE          the access document ("-" reads standard input)
      --dry-run            plan and report only; change nothing
      --prune              also delete databases and mappings FILE does not declare (FILE must
                           then have both keys; "mappings: []" deletes every mapping)
      --format FORMAT      text (default) or json (the plan as dab answered it, for CI bots)
${connectionHelp()}

${FILE_FORMAT}

${PLAN_OUTPUT}

Problems in the file are reported as FILE:LINE:COL: path: message (YAML syntax, duplicate keys,
unknown keys, duplicate names, and every field dab rejects); nothing is applied then.

Examples:
  dab admin apply -f access.yaml --dry-run
  dab admin export | dab admin apply -f - --dry-run     (0 changes)

${EXIT_HELP}`;

export const ADMIN_PUT_HELP = `Usage: dab admin put -f FILE [--dry-run] [options]

Creates or updates each database and mapping FILE declares (same format as apply), leaving
everything else alone. Databases are put before mappings, all in one transaction.

Options:
  -f, --file FILE          YAML with databases: and/or mappings: ("-" reads standard input)
      --dry-run            plan and report only; change nothing
      --format FORMAT      text (default) or json
${connectionHelp()}

${PLAN_OUTPUT}

${EXIT_HELP}`;

export const ADMIN_DELETE_HELP = `Usage: dab admin delete database NAME... [--dry-run] [options]
       dab admin delete mapping NAME... [--dry-run] [options]

Deletes databases or mappings (by name), in one transaction, and shows who loses access.

Options:
      --dry-run            plan and report only; change nothing
      --format FORMAT      text (default) or json
${connectionHelp()}

${EXIT_HELP}`;

/** Sends a plan-producing request and prints the plan; dab's field errors are placed in the file. */
async function submit(conn: AdminConnection, io: CliIo, format: string, what: string, path: string, body: unknown, file?: { access: AccessFile; rebase: Rebase }): Promise<void> {
  let plan: PlanResult;
  try {
    plan = await adminCall<PlanResult>(conn, 'POST', path, body);
  } catch (err) {
    if (file && err instanceof AdminProblemError && err.status < 500 && err.errors.length) {
      const problems = placeServerProblems(file.access, err.errors, file.rebase);
      throw new AccessFileError(file.access.file, problems);
    }
    throw explainFailure(err, conn, { what });
  }
  io.out(format === 'json' ? JSON.stringify(plan, null, 2) : formatPlan(plan));
}

function formatOf(raw: string): string {
  if (raw !== 'text' && raw !== 'json') throw usage('--format must be text or json');
  return raw;
}

const options = { file: { type: 'string', short: 'f' }, 'dry-run': { type: 'boolean', default: false }, format: { type: 'string', default: 'text' }, ...ADMIN_OPTIONS } as const;

export async function adminApplyCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { ...options, prune: { type: 'boolean', default: false } } });
  if (positionals.length) throw usage(`unexpected argument "${positionals[0]}": name the file with -f`);
  if (!values.file) throw usage('name the access document: dab admin apply -f access.yaml');
  const input = readInput(values.file);
  const access = parseAccessFile(input.text, input.name);
  const conn = connectionFrom(values, io);
  const missing = values.prune ? (['databases', 'mappings'] as const).filter((k) => !(k in access.document)) : [];
  // An absent section would prune everything of its kind: make that explicit ("mappings: []").
  if (missing.length) throw usage(`--prune deletes everything ${input.name} does not declare, and it has no ${missing.join(' and no ')}: key; write "${missing[0]}: []" if you mean to delete them all`);
  const body = { document: access.document, prune: values.prune, dryRun: values['dry-run'] };
  const rebase: Rebase = (s) => (s[0] === 'document' ? s.slice(1) : undefined);
  // Every schema problem at once (dab's validator reports the first only); none are sent.
  const { applySchemaProblems } = await import('./admin-schema-check.js');
  const schemaProblems = applySchemaProblems(body);
  if (schemaProblems.length) throw new AccessFileError(access.file, placeServerProblems(access, schemaProblems, rebase));
  await submit(conn, io, formatOf(values.format), `apply ${input.name}`, '/v1/admin/apply', body, { access, rebase });
}

export async function adminPutCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options });
  if (positionals.length) throw usage(`unexpected argument "${positionals[0]}": name the file with -f`);
  if (!values.file) throw usage('name the file: dab admin put -f mapping.yaml');
  const input = readInput(values.file);
  const access = parseAccessFile(input.text, input.name);
  const conn = connectionFrom(values, io);
  // Operation i came from this place in the file.
  const origins: PathSegment[][] = [];
  const operations = [
    ...(access.document.databases ?? []).map((database, i) => (origins.push(['databases', i]), { action: 'put', database })),
    ...(access.document.mappings ?? []).map((mapping, i) => (origins.push(['mappings', i]), { action: 'put', mapping })),
  ];
  if (!operations.length) throw usage(`${input.name} declares no databases and no mappings: nothing to put`);
  await submit(conn, io, formatOf(values.format), `put ${input.name}`, '/v1/admin/changes', { operations, dryRun: values['dry-run'] }, {
    access,
    rebase: (s, message) => {
      const origin = s[0] === 'operations' && typeof s[1] === 'number' ? origins[s[1]] : undefined;
      if (!origin) return undefined;
      // operations.N.mapping.* is the declaration; the rest is Ajv trying the other kinds of operation
      // (put database, delete database, delete mapping) on it.
      const kind = origin[0] === 'databases' ? 'database' : 'mapping';
      if (s[2] !== kind || (s.length === 3 && /^must be (string|equal to constant)$/.test(message))) return null;
      return [...origin, ...s.slice(3)];
    },
  });
}

const KINDS: Record<string, 'database' | 'mapping'> = { database: 'database', databases: 'database', mapping: 'mapping', mappings: 'mapping' };

export async function adminDeleteCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { 'dry-run': options['dry-run'], format: options.format, ...ADMIN_OPTIONS } });
  const [kindWord, ...names] = positionals;
  const kind = kindWord ? KINDS[kindWord] : undefined;
  if (!kind) throw usage('say what to delete: dab admin delete database NAME or dab admin delete mapping NAME');
  if (!names.length) throw usage(`name the ${kind} to delete: dab admin delete ${kind} NAME`);
  const conn = connectionFrom(values, io);
  const operations = names.map((name) => ({ action: 'delete', [kind]: name }));
  await submit(conn, io, formatOf(values.format), `delete ${kind} ${names.join(', ')}`, '/v1/admin/changes', { operations, dryRun: values['dry-run'] });
}
