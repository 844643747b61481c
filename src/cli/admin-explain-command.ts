import { ADMIN_OPTIONS, adminCall, connectionFrom, connectionHelp, EXIT_HELP, explainFailure, parseOrUsage } from './admin-client.js';
import { formatLabels, formatPrincipal, formatTable, type ImpactPrincipal } from './admin-format.js';
import { usage, type CliIo } from './cli-errors.js';

export const ADMIN_EXPLAIN_HELP = `Usage: dab admin explain --issuer I --subject S [--group G]... [--claim NAME=VALUE]...
                         --database D --access ro|rw|monitor [--reason R] [--at ISO] [options]

Answers "would this caller get this access, and why?" without minting anything: which mapping
allows it, or why none does, and every mapping that names the caller and applies to the database
with its verdict (grants, reason_required, expired, not_yet_valid, other_levels, inactive).

Options:
      --issuer ISSUER      the caller's token issuer (iss)
      --subject SUBJECT    the caller's subject (sub)
      --group GROUP        a group the caller's token carries (repeat for more)
      --claim NAME=VALUE   another claim the token carries (repeat; same NAME twice = a list)
      --database NAME      the database asked for
      --access LEVEL       ro, rw or monitor
      --reason TEXT        as if the request gave this reason
      --at ISO             decide at this instant (default: now), e.g. 2025-07-01T09:00:00Z
      --format FORMAT      text (default) or json
${connectionHelp()}

Exit status is 0 whether access would be allowed or denied (read the first line, or --format json).
${EXIT_HELP}`;

interface Considered {
  id: string;
  name: string;
  verdict: string;
  principal: ImpactPrincipal;
  database?: string;
  selector?: Record<string, string>;
  levels: string[];
  notBefore?: string;
  expiresAt?: string;
  requireReason?: boolean;
}

export interface Explanation {
  at: string;
  allowed: boolean;
  reason: string;
  rule: { id: string; name: string } | null;
  dbUser?: string;
  roleArn?: string;
  considered: Considered[];
}

const DENY_REASONS: Record<string, string> = {
  unknown_database: 'no database has that name',
  level_not_defined: 'the database does not define that access level',
  no_mapping: 'no mapping names this caller for this database',
  level_not_granted: 'mappings name this caller, but none grants this level',
  mapping_expired: 'the mapping that would grant this has expired',
  mapping_not_yet_valid: 'the mapping that would grant this is not valid yet',
  reason_required: 'the mapping requires a reason (pass --reason)',
};

/** "allowed by mapping X" or "denied: reason", then each considered mapping with its verdict. */
export function formatExplanation(e: Explanation, access: string, database: string): string {
  const lines: string[] = [];
  if (e.allowed) {
    const as = e.dbUser ? ` as DB user ${e.dbUser}${e.roleArn ? ` via ${e.roleArn}` : ''}` : '';
    lines.push(`allowed by mapping ${e.rule?.name ?? e.rule?.id ?? '?'}: ${access} on ${database}${as}`);
  } else {
    const because = e.rule ? ` (mapping ${e.rule.name})` : '';
    lines.push(`denied: ${e.reason}${because}: ${DENY_REASONS[e.reason] ?? 'refused'}`);
  }
  lines.push(`decided at ${e.at}`);
  if (!e.considered.length) {
    lines.push('', 'no mapping names this caller and applies to this database');
    return lines.join('\n');
  }
  const rows = e.considered.map((c) => {
    const target = c.database ?? `{${formatLabels(c.selector)}}`;
    const conditions = [c.requireReason ? 'reason required' : '', c.notBefore ? `from ${c.notBefore}` : '', c.expiresAt ? `until ${c.expiresAt}` : ''];
    return [c.verdict, c.name, formatPrincipal(c.principal), target, c.levels.join(','), conditions.filter(Boolean).join(', ')];
  });
  lines.push('', `considered (most specific first):`, formatTable(['VERDICT', 'MAPPING', 'PRINCIPAL', 'DATABASE', 'LEVELS', 'CONDITIONS'], rows).replace(/^/gm, '  '));
  return lines.join('\n');
}

export async function adminExplainCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({
    args,
    allowPositionals: true,
    options: {
      issuer: { type: 'string' },
      subject: { type: 'string' },
      group: { type: 'string', multiple: true },
      claim: { type: 'string', multiple: true },
      database: { type: 'string' },
      access: { type: 'string' },
      reason: { type: 'string' },
      at: { type: 'string' },
      format: { type: 'string', default: 'text' },
      ...ADMIN_OPTIONS,
    },
  });
  if (positionals.length) throw usage(`unexpected argument "${positionals[0]}"`);
  if (!values.issuer || !values.subject) throw usage('name the caller: --issuer ISSUER --subject SUBJECT');
  if (!values.database) throw usage('name the database: --database NAME');
  if (!values.access || !['ro', 'rw', 'monitor'].includes(values.access)) throw usage('--access must be ro, rw or monitor');
  if (values.at !== undefined && Number.isNaN(Date.parse(values.at))) throw usage(`--at must be an ISO 8601 instant, e.g. 2025-07-01T09:00:00Z (got "${values.at}")`);
  if (!['text', 'json'].includes(values.format)) throw usage('--format must be text or json');
  const claims: Record<string, string | string[]> = {};
  for (const raw of values.claim ?? []) {
    const eq = raw.indexOf('=');
    if (eq < 1) throw usage(`--claim must be NAME=VALUE (got "${raw}")`);
    const [name, value] = [raw.slice(0, eq), raw.slice(eq + 1)];
    const prior = claims[name];
    claims[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  const principal = {
    issuer: values.issuer,
    subject: values.subject,
    ...(values.group?.length ? { groups: values.group } : {}),
    ...(Object.keys(claims).length ? { claims } : {}),
  };
  const body = {
    principal,
    database: values.database,
    access: values.access,
    ...(values.reason !== undefined ? { reason: values.reason } : {}),
    ...(values.at !== undefined ? { at: new Date(values.at).toISOString() } : {}),
  };
  const conn = connectionFrom(values, io);
  let explanation: Explanation;
  try {
    explanation = await adminCall<Explanation>(conn, 'POST', '/v1/access/explain', body);
  } catch (err) {
    throw explainFailure(err, conn, { what: `explain ${values.access} on ${values.database}` });
  }
  io.out(values.format === 'json' ? JSON.stringify(explanation, null, 2) : formatExplanation(explanation, values.access, values.database));
}
