import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ADMIN_OPTIONS, adminCall, connectionFrom, connectionHelp, explainFailure } from './admin-client.js';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';

const CONNECTION_HELP = connectionHelp();

export const ADMIN_BOOTSTRAP_HELP = `Usage: dab admin bootstrap DATABASE [--schema S]... [--out DIR] [options]

Prints what a DBA needs to prepare a registered database for dab: the SQL (group roles with the
level's privileges, one login user per level granted rds_iam; idempotent, run it as the master
user) or, for ElastiCache, the AWS CLI commands (IAM users, user group), and for each target role
its trust policy and its connect permission policy (rds-db:connect, elasticache:Connect).

Options:
      --schema S           a schema to grant ro and rw on (repeatable; default public)
      --out DIR            write DATABASE.sql (or DATABASE.sh), ROLE-trust.json and
                           ROLE-permissions.json into DIR
                           instead of printing them
${CONNECTION_HELP}

Warnings (placeholders to replace, IAM size limits) go to stderr. Exit codes: 0 ok, 1 refused
(unknown database), 2 usage, 4 dab unreachable, 5 not a DBA, 6 token rejected, 7 dab unavailable.`;

export const ADMIN_CHECK_HELP = `Usage: dab admin check DATABASE [--no-login] [options]

Preflight check of a registered database, run by dab: for each level it assumes the level's role
as a grant would (ExternalId, SourceIdentity), mints a token and logs in with it. Prints one line
per step and says what to fix. Nothing secret is printed; the check is audited.

Options:
      --no-login           stop after minting tokens (when dab cannot reach the database)
${CONNECTION_HELP}

Exit codes: 0 no step failed (a login dab cannot reach is skipped, not failed), 1 a step failed
or the database is unknown, 2 usage, 4 dab unreachable, 5 not a DBA, 6 token rejected, 7 dab unavailable.`;

interface Policy {
  Version: string;
  Statement: unknown[];
}
interface BootstrapAnswer {
  database: string;
  /** SQL engines answer sql; engines prepared through an API (ElastiCache) answer commands. */
  sql?: string;
  commands?: string;
  roles: Array<{ roleArn: string; levels: string[]; trustPolicy: Policy; permissionPolicy: Policy; sizes: { trustPolicy: number; permissionPolicy: number }; warnings: string[] }>;
  warnings: string[];
}
interface CheckAnswer {
  database: string;
  ok: boolean;
  levels: Array<{ level: string; dbUser: string; roleArn: string; steps: Array<{ step: string; status: string; message: string }> }>;
}

function parse<T extends ParseArgsConfig['options']>(args: string[], options: T) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: options as NonNullable<T>, allowPositionals: true, strict: true });
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (parsed.positionals.length !== 1) throw usage(parsed.positionals.length ? `one DATABASE only, got ${parsed.positionals.join(' ')}` : 'name the DATABASE');
  return { database: parsed.positionals[0] as string, values: parsed.values as Record<string, string | boolean | string[] | undefined> };
}

/** One admin call with the same connection flags and failure messages as every `dab admin` command. */
async function call<T>(values: Record<string, unknown>, io: CliIo, method: 'GET' | 'POST', path: string, what: string, body?: unknown): Promise<T> {
  const conn = connectionFrom(values as Parameters<typeof connectionFrom>[0], io);
  try {
    return await adminCall<T>(conn, method, path, body);
  } catch (err) {
    throw explainFailure(err, conn, { what });
  }
}

/** File names for each role's policies: the role name, or account-name when two roles share a name. */
function roleFileNames(roles: BootstrapAnswer['roles']): string[] {
  const nameOf = (arn: string) => arn.split('/').pop() ?? arn;
  const names = roles.map((r) => nameOf(r.roleArn));
  return roles.map((r, i) => (names.filter((n) => n === names[i]).length > 1 ? `${r.roleArn.split(':')[4]}-${names[i]}` : (names[i] as string)));
}

/** `dab admin bootstrap DATABASE [--schema S]... [--out DIR]`. */
export async function adminBootstrapCommand(args: string[], io: CliIo): Promise<void> {
  const { database, values } = parse(args, { schema: { type: 'string', multiple: true }, out: { type: 'string' }, ...ADMIN_OPTIONS });
  const schemas = (values.schema as string[] | undefined) ?? [];
  const query = schemas.map((s) => `schema=${encodeURIComponent(s)}`).join('&');
  const answer = await call<BootstrapAnswer>(values, io, 'GET', `/v1/databases/${encodeURIComponent(database)}/bootstrap${query ? `?${query}` : ''}`, `read the bootstrap of database "${database}"`);

  const names = roleFileNames(answer.roles);
  const files: Array<{ name: string; text: string; about: string }> = [];
  if (answer.sql !== undefined) files.push({ name: `${answer.database}.sql`, text: answer.sql, about: 'run as the master user, connected to the database' });
  if (answer.commands !== undefined) files.push({ name: `${answer.database}.sh`, text: answer.commands, about: "AWS CLI commands, run with credentials of the cache's account" });
  answer.roles.forEach((role, i) => {
    const about = `${role.roleArn}, levels ${role.levels.join(', ')}`;
    files.push({ name: `${names[i]}-trust.json`, text: `${JSON.stringify(role.trustPolicy, null, 2)}\n`, about: `trust policy of ${about}; ${role.sizes.trustPolicy} characters` });
    files.push({ name: `${names[i]}-permissions.json`, text: `${JSON.stringify(role.permissionPolicy, null, 2)}\n`, about: `permission policy of ${about}; ${role.sizes.permissionPolicy} characters` });
  });

  if (values.out) {
    const dir = values.out as string;
    try {
      mkdirSync(dir, { recursive: true });
      for (const f of files) writeFileSync(join(dir, f.name), f.text);
    } catch (err) {
      throw new CliError(`--out ${dir}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.failure);
    }
    for (const f of files) io.out(`wrote ${join(dir, f.name)} (${f.about})`);
  } else {
    for (const f of files) io.out(`=== ${f.name} (${f.about}) ===\n${f.text.replace(/\n$/, '')}\n`);
  }
  for (const w of answer.warnings) io.err(`warning: ${w}`);
  answer.roles.forEach((role, i) => {
    for (const w of role.warnings) io.err(`warning: ${names[i]}: ${w}`);
  });
}

/** `dab admin check DATABASE [--no-login]`. */
export async function adminCheckCommand(args: string[], io: CliIo): Promise<void> {
  const { database, values } = parse(args, { 'no-login': { type: 'boolean' }, ...ADMIN_OPTIONS });
  const answer = await call<CheckAnswer>(values, io, 'POST', `/v1/databases/${encodeURIComponent(database)}/check`, `check database "${database}"`, { login: values['no-login'] !== true });

  const steps = answer.levels.flatMap((l) => l.steps.map((s) => ({ level: l.level, ...s })));
  const width = (pick: (s: (typeof steps)[number]) => string) => Math.max(0, ...steps.map((s) => pick(s).length));
  const [lw, sw, tw] = [width((s) => s.level), width((s) => s.step), width((s) => s.status)];
  for (const s of steps) io.out(`${s.level.padEnd(lw)}  ${s.step.padEnd(sw)}  ${s.status.padEnd(tw)}  ${s.message}`);

  const count = (status: string) => steps.filter((s) => s.status === status).length;
  const skipped = count('skipped') ? `, ${count('skipped')} skipped` : '';
  if (count('failed') > 0) {
    throw new CliError(`${answer.database}: ${count('failed')} of ${steps.length} steps failed${skipped}; see the messages above`, EXIT.failure);
  }
  io.out(`${answer.database}: no step failed (${count('ok')} of ${steps.length} ok${skipped})`);
}
