import { ADMIN_OPTIONS, adminCall, connectionFrom, connectionHelp, explainFailure, parseOrUsage } from './admin-client.js';
import { formatTable } from './admin-format.js';
import { usage, type CliIo } from './cli-errors.js';

export const ACCESS_HELP = `Usage: dab access [--format table|json] [options]

Lists what you can get right now: each database and access level your mappings grant, the
mapping that grants it, whether "dab creds" needs --reason for it, and when it expires.

Options:
      --format FORMAT      table (default) or json
${connectionHelp('your')}

Exit codes: 0 ok (also when you have no access), 2 usage, 4 dab unreachable, 6 token rejected,
7 dab or its store unavailable, 1 anything else.`;

interface MyAccess {
  at: string;
  items: Array<{ database: string; level: string; mapping: string; requireReason: boolean; expiresAt?: string }>;
}

export function formatMyAccess(mine: MyAccess): string {
  if (!mine.items.length) return 'You have no database access: ask a DBA for a mapping.';
  const rows = mine.items.map((i) => [i.database, i.level, i.mapping, i.requireReason ? 'yes' : 'no', i.expiresAt ?? 'never']);
  return formatTable(['DATABASE', 'LEVEL', 'VIA MAPPING', 'REASON REQUIRED', 'EXPIRES'], rows);
}

export async function accessCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { format: { type: 'string', default: 'table' }, ...ADMIN_OPTIONS } });
  if (positionals.length) throw usage(`unexpected argument "${positionals[0]}": dab access lists everything you can get`);
  if (!['table', 'json'].includes(values.format)) throw usage('--format must be table or json');
  const conn = connectionFrom(values, io);
  let mine: MyAccess;
  try {
    mine = await adminCall<MyAccess>(conn, 'GET', '/v1/access/mine');
  } catch (err) {
    throw explainFailure(err, conn, { what: 'list your access', needs: 'a caller token of a configured issuer' });
  }
  io.out(values.format === 'json' ? JSON.stringify(mine, null, 2) : formatMyAccess(mine));
}
