import { Document, isMap, isScalar, isSeq, visit, type Node } from 'yaml';

// How admin answers are shown: plans, principals, tables and YAML in a stable key order.

export interface ImpactPrincipal {
  issuer: string;
  subject?: string;
  group?: string;
  claim?: { name: string; value: string };
  aws?: string;
  awsAccount?: string;
}

export interface AccessDelta {
  principal: ImpactPrincipal;
  seenInAuditLog: boolean;
  database: string;
  level: string;
}

export interface PlanResult {
  dryRun: boolean;
  changes: Array<{ kind: 'database' | 'mapping'; name: string; action: 'create' | 'update' | 'delete' }>;
  unchanged: number;
  impact: { principalsCompared: number; auditWindowDays: number; gains: AccessDelta[]; losses: AccessDelta[] };
}

const SIGN = { create: '+', update: '~', delete: '-' } as const;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** subject alice@https://idp, group dba@https://idp, claim department=payments@https://idp */
export function formatPrincipal(p: ImpactPrincipal): string {
  if (p.aws !== undefined) return `aws ${p.aws}`;
  if (p.awsAccount !== undefined) return `aws account ${p.awsAccount}`;
  if (p.subject !== undefined) return `subject ${p.subject}@${p.issuer}`;
  if (p.group !== undefined) return `group ${p.group}@${p.issuer}`;
  if (p.claim) return `claim ${p.claim.name}=${p.claim.value}@${p.issuer}`;
  return `anyone@${p.issuer}`;
}

/** The plan as lines: changes, then who gains and loses what, then one summary line. */
export function formatPlan(plan: PlanResult): string {
  const lines: string[] = plan.changes.map((c) => `${SIGN[c.action]} ${c.action} ${c.kind} ${c.name}`);
  const { gains, losses, auditWindowDays, principalsCompared } = plan.impact;
  const seen = (d: AccessDelta) => (d.seenInAuditLog ? ` (active: seen in the audit log in the last ${plural(auditWindowDays, 'day')})` : '');
  const deltas = [
    ...gains.map((d) => `+ ${formatPrincipal(d.principal)} gains ${d.level} on ${d.database}${seen(d)}`),
    ...losses.map((d) => `- ${formatPrincipal(d.principal)} loses ${d.level} on ${d.database}${seen(d)}`),
  ];
  if (lines.length && deltas.length) lines.push('');
  lines.push(...deltas);
  if (lines.length) lines.push('');
  const count = (action: 'create' | 'update' | 'delete') => plan.changes.filter((c) => c.action === action).length;
  const counts = plan.dryRun
    ? `${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete`
    : `${count('create')} created, ${count('update')} updated, ${count('delete')} deleted`;
  const impact = `${plural(gains.length, 'gain')}, ${plural(losses.length, 'loss', 'losses')} across ${plural(principalsCompared, 'principal')}`;
  lines.push(`${counts}, ${plan.unchanged} unchanged; ${impact}${plan.dryRun ? ' (dry run: nothing changed)' : ''}`);
  return lines.join('\n');
}

// Key order for YAML and JSON output: what a DBA reads first, first. Unknown keys follow, sorted.
const DATABASE_KEYS = ['name', 'description', 'engine', 'host', 'port', 'region', 'dbname', 'roleArn', 'externalId', 'sslmode', 'resourceId', 'labels', 'levels', 'version', 'createdAt', 'updatedAt'];
const MAPPING_KEYS = ['name', 'id', 'description', 'owner', 'principal', 'database', 'selector', 'levels', 'requireReason', 'notBefore', 'expiresAt', 'version', 'createdAt', 'updatedAt'];
const NESTED_KEYS: Record<string, string[]> = {
  principal: ['issuer', 'subject', 'group', 'claim', 'aws', 'awsAccount'],
  claim: ['name', 'value'],
  levels: ['ro', 'rw', 'monitor'],
  ro: ['dbUser', 'roleArn'],
  rw: ['dbUser', 'roleArn'],
  monitor: ['dbUser', 'roleArn'],
};

function ordered(value: unknown, keys: string[] | undefined): unknown {
  if (Array.isArray(value)) return value;
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const rank = (k: string) => (keys?.includes(k) ? keys.indexOf(k) : Infinity);
  const names = Object.keys(obj).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return Object.fromEntries(names.filter((k) => obj[k] !== undefined).map((k) => [k, ordered(obj[k], NESTED_KEYS[k])]));
}

export const orderDatabase = (db: unknown) => ordered(db, DATABASE_KEYS);
export const orderMapping = (m: unknown) => ordered(m, MAPPING_KEYS);

/** The access document (databases, mappings) with every object's keys in the stable order. */
export function orderDocument(doc: { databases?: unknown[]; mappings?: unknown[] }) {
  return { databases: (doc.databases ?? []).map(orderDatabase), mappings: (doc.mappings ?? []).map(orderMapping) };
}

/**
 * YAML text: no line folding, short lists of scalars inline ([ro, rw]), and for a document of
 * sections (export) a blank line between sections and between their items; optional header comment.
 */
export function toYaml(value: unknown, opts: { header?: string; sections?: boolean } = {}): string {
  const doc = new Document(value, { version: '1.2' });
  if (opts.header) doc.commentBefore = opts.header.split('\n').map((l) => (l ? ` ${l}` : '')).join('\n');
  visit(doc, {
    Seq(_key, seq) {
      if (seq.items.length && seq.items.every((i) => isScalar(i))) seq.flow = true;
    },
  });
  if (opts.sections && isMap(doc.contents)) {
    doc.contents.items.forEach((pair, i) => {
      if (i > 0) (pair.key as Node).spaceBefore = true;
      if (!isSeq(pair.value)) return;
      pair.value.items.forEach((item, j) => {
        if (j > 0 && isMap(item)) (item as Node).spaceBefore = true;
      });
    });
  }
  if (isSeq(doc.contents)) {
    doc.contents.items.forEach((item, j) => {
      if (j > 0 && isMap(item)) (item as Node).spaceBefore = true;
    });
  }
  return doc.toString({ lineWidth: 0, indentSeq: true, flowCollectionPadding: false });
}

/** Columns padded to the widest cell; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** env=prod,team=payments */
export const formatLabels = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
