import { writeFileSync } from 'node:fs';
import { ADMIN_OPTIONS, adminCall, connectionFrom, connectionHelp, EXIT_HELP, explainFailure, parseOrUsage, type AdminConnection } from './admin-client.js';
import { formatLabels, formatPrincipal, formatTable, orderDatabase, orderDocument, orderMapping, toYaml, type ImpactPrincipal } from './admin-format.js';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';

export const ADMIN_EXPORT_HELP = `Usage: dab admin export [-o FILE] [options]

Writes every database and mapping dab holds as an access document (YAML, sorted by name, without
ids, versions or timestamps): the format "dab admin apply" reads, so export then apply changes nothing.

Options:
  -o, --output FILE        write to FILE instead of standard output (--output-file still works)
${connectionHelp()}

Example: dab admin export -o access.yaml && git add access.yaml

${EXIT_HELP}`;

export const ADMIN_GET_HELP = `Usage: dab admin get database NAME [--format yaml|json] [options]
       dab admin get mapping NAME_OR_ID [--format yaml|json] [options]

Shows one database or mapping as dab holds it, with its id, version and timestamps.

Options:
      --format FORMAT      yaml (default) or json
${connectionHelp()}

${EXIT_HELP}`;

export const ADMIN_LIST_HELP = `Usage: dab admin list databases [--format table|yaml|json] [options]
       dab admin list mappings [--database D] [--owner O] [--issuer I] [--subject S] [--group G]
                               [--format table|yaml|json] [options]

Lists databases or mappings: a table by default (name and key fields), or every field as YAML/JSON.
--database matches mappings naming that database (selector mappings: use "dab admin explain").

Options:
      --format FORMAT      table (default), yaml or json
      --database NAME      mappings: only those naming this database
      --owner OWNER        mappings: only those with this owner
      --issuer ISSUER      mappings: only principals of this issuer
      --subject SUBJECT    mappings: only those naming this subject
      --group GROUP        mappings: only those naming this group
${connectionHelp()}

${EXIT_HELP}`;

type Item = Record<string, unknown>;

const HEADER = (url: string) => `dab access document, exported from ${url}
Edit, review in git, then: dab admin apply -f access.yaml --dry-run
(apply --prune also deletes what this file does not declare)`;

export async function adminExportCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { output: { type: 'string', short: 'o' }, 'output-file': { type: 'string' }, ...ADMIN_OPTIONS } });
  if (positionals.length) throw usage(`unexpected argument "${positionals[0]}"`);
  const conn = connectionFrom(values, io);
  const doc = await read<{ databases?: Item[]; mappings?: Item[] }>(conn, '/v1/admin/export', 'export the access document');
  const text = toYaml(orderDocument(doc), { header: HEADER(conn.url), sections: true });
  const target = values.output ?? values['output-file'];
  if (!target || target === '-') {
    io.out(text.trimEnd());
    return;
  }
  try {
    writeFileSync(target, text);
  } catch (err) {
    throw new CliError(`${target}: cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.failure);
  }
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  io.err(`wrote ${count(doc.databases?.length ?? 0, 'database')} and ${count(doc.mappings?.length ?? 0, 'mapping')} to ${target}`);
}

const KIND: Record<string, 'database' | 'mapping'> = { database: 'database', databases: 'database', mapping: 'mapping', mappings: 'mapping' };

function outputFormat(raw: string | undefined, allowed: string[]): string {
  const format = raw ?? allowed[0] ?? 'yaml';
  if (!allowed.includes(format)) throw usage(`--format must be ${allowed.join(', ').replace(/, ([^,]*)$/, ' or $1')}`);
  return format;
}

const render = (value: unknown, format: string) => (format === 'json' ? JSON.stringify(value, null, 2) : toYaml(value).trimEnd());

export async function adminGetCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { format: { type: 'string' }, ...ADMIN_OPTIONS } });
  const [kindWord, name, ...extra] = positionals;
  const kind = kindWord ? KIND[kindWord] : undefined;
  if (!kind || !name || extra.length) throw usage('name one thing: dab admin get database NAME or dab admin get mapping NAME_OR_ID');
  const format = outputFormat(values.format, ['yaml', 'json']);
  const id = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name) && !(kind === 'mapping' && id.test(name))) {
    throw usage(`"${name}" is not a ${kind} name${kind === 'mapping' ? ' or id' : ''}: names are lower-case letters, digits and dashes`);
  }
  const conn = connectionFrom(values, io);
  const path = `/v1/${kind === 'database' ? 'databases' : 'mappings'}/${encodeURIComponent(name)}`;
  const item = await read<Item>(conn, path, `read ${kind} ${name}`, `no ${kind} named "${name}"`);
  io.out(render(kind === 'database' ? orderDatabase(item) : orderMapping(item), format));
}

export async function adminListCommand(args: string[], io: CliIo): Promise<void> {
  const filters = { database: { type: 'string' }, owner: { type: 'string' }, issuer: { type: 'string' }, subject: { type: 'string' }, group: { type: 'string' } } as const;
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { format: { type: 'string' }, ...filters, ...ADMIN_OPTIONS } });
  const [kindWord, ...extra] = positionals;
  const kind = kindWord ? KIND[kindWord] : undefined;
  if (!kind || extra.length) throw usage('say what to list: dab admin list databases or dab admin list mappings');
  const format = outputFormat(values.format, ['table', 'yaml', 'json']);
  const query = new URLSearchParams();
  for (const key of Object.keys(filters) as Array<keyof typeof filters>) {
    const value = values[key];
    if (value === undefined) continue;
    if (kind === 'database') throw usage(`--${key} filters mappings, not databases`);
    query.set(key, value);
  }
  const conn = connectionFrom(values, io);
  const path = `/v1/${kind === 'database' ? 'databases' : 'mappings'}${String(query) ? `?${query}` : ''}`;
  const { items } = await read<{ items: Item[] }>(conn, path, `list ${kind}s`);
  if (format !== 'table') {
    io.out(render(items.map(kind === 'database' ? orderDatabase : orderMapping), format));
    return;
  }
  if (!items.length) {
    io.err(`no ${kind}s${String(query) ? ' match' : ''}`);
    return;
  }
  io.out(kind === 'database' ? databaseTable(items) : mappingTable(items));
}

function databaseTable(items: Item[]): string {
  const rows = items.map((d) => [
    String(d.name),
    `${String(d.host)}:${String(d.port)}/${String(d.dbname)}`,
    String(d.region),
    Object.keys((d.levels as object | undefined) ?? {}).join(','),
    formatLabels(d.labels as Record<string, string> | undefined),
  ]);
  return formatTable(['NAME', 'ENDPOINT', 'REGION', 'LEVELS', 'LABELS'], rows);
}

function mappingTable(items: Item[]): string {
  const rows = items.map((m) => {
    const target = m.database !== undefined ? String(m.database) : `{${formatLabels(m.selector as Record<string, string> | undefined)}}`;
    const flags = [m.requireReason ? 'reason' : '', m.notBefore ? `from ${String(m.notBefore)}` : '', m.expiresAt ? `until ${String(m.expiresAt)}` : ''];
    return [String(m.name), formatPrincipal(m.principal as ImpactPrincipal), target, (m.levels as string[]).join(','), m.owner ? String(m.owner) : '-', flags.filter(Boolean).join(' ')];
  });
  return formatTable(['NAME', 'PRINCIPAL', 'DATABASE', 'LEVELS', 'OWNER', 'CONDITIONS'], rows);
}

async function read<T>(conn: AdminConnection, path: string, what: string, notFound?: string): Promise<T> {
  try {
    return await adminCall<T>(conn, 'GET', path);
  } catch (err) {
    throw explainFailure(err, conn, { what, ...(notFound ? { notFound } : {}) });
  }
}
