import type { AccessLevel } from '../databases/database-schema.js';
import type { Queryable } from '../store/store.js';
import { AWS_ACCOUNT_CLAIM, AWS_ISSUER } from '../auth/aws-principal.js';
import type { Mapping, MappingFilter, MappingInput, MappingPrincipal } from './mapping-schema.js';

interface MappingRow {
  id: string;
  name: string;
  issuer: string;
  subject: string | null;
  group_name: string | null;
  claim_name: string | null;
  claim_value: string | null;
  database_name: string | null;
  selector: Record<string, string> | null;
  levels: AccessLevel[];
  not_before: Date | null;
  expires_at: Date | null;
  require_reason: boolean;
  description: string | null;
  owner: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function principalOf(row: MappingRow): MappingPrincipal {
  // AWS principals are stored under the reserved issuer "aws": the ARN as given, or the account claim.
  if (row.issuer === AWS_ISSUER && row.subject !== null) return { aws: row.subject };
  if (row.issuer === AWS_ISSUER && row.claim_name === AWS_ACCOUNT_CLAIM) return { awsAccount: row.claim_value as string };
  if (row.subject !== null) return { issuer: row.issuer, subject: row.subject };
  if (row.group_name !== null) return { issuer: row.issuer, group: row.group_name };
  return { issuer: row.issuer, claim: { name: row.claim_name as string, value: row.claim_value as string } };
}

const iso = (d: Date) => new Date(d).toISOString();

function toMapping(row: MappingRow): Mapping {
  return {
    id: row.id,
    name: row.name,
    principal: principalOf(row),
    ...(row.database_name !== null ? { database: row.database_name } : { selector: row.selector as Record<string, string> }),
    levels: row.levels,
    ...(row.not_before ? { notBefore: iso(row.not_before) } : {}),
    ...(row.expires_at ? { expiresAt: iso(row.expires_at) } : {}),
    ...(row.require_reason ? { requireReason: true } : {}),
    ...(row.description ? { description: row.description } : {}),
    ...(row.owner ? { owner: row.owner } : {}),
    version: row.version,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const FIELDS = 'name, issuer, subject, group_name, claim_name, claim_value, database_name, selector, levels, not_before, expires_at, require_reason, description, owner';
const PLACEHOLDERS = '$2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::text[], $11::timestamptz, $12::timestamptz, $13, $14, $15';

/** issuer, subject, group_name, claim_name, claim_value: exactly one kind set besides the issuer. */
export const principalColumns = (p: MappingPrincipal): unknown[] =>
  'aws' in p ? [AWS_ISSUER, p.aws, null, null, null]
  : 'awsAccount' in p ? [AWS_ISSUER, null, null, AWS_ACCOUNT_CLAIM, p.awsAccount]
  : [p.issuer, 'subject' in p ? p.subject : null, 'group' in p ? p.group : null, 'claim' in p ? p.claim.name : null, 'claim' in p ? p.claim.value : null];

const values = (name: string, m: MappingInput): unknown[] => {
  return [
    name,
    ...principalColumns(m.principal),
    m.database ?? null,
    m.selector ? JSON.stringify(m.selector) : null,
    m.levels,
    m.notBefore ?? null,
    m.expiresAt ?? null,
    m.requireReason ?? false,
    m.description ?? null,
    m.owner ?? null,
  ];
};

/** Every mapping, for the in-memory access model. */
export async function listAllMappings(db: Queryable): Promise<Mapping[]> {
  const { rows } = await db.query<MappingRow>('SELECT * FROM mappings');
  return rows.map(toMapping);
}

/** By id or by name; FOR UPDATE inside a change. */
export async function findMapping(db: Queryable, ref: string, forUpdate = false): Promise<Mapping | undefined> {
  const column = /^[0-9a-f]{8}-[0-9a-f]{4}-/.test(ref) ? 'id' : 'name';
  const { rows } = await db.query<MappingRow>(`SELECT * FROM mappings WHERE ${column} = $1${column === 'id' ? '::uuid' : ''}${forUpdate ? ' FOR UPDATE' : ''}`, [ref]);
  return rows[0] && toMapping(rows[0]);
}

export async function listMappings(db: Queryable, f: MappingFilter): Promise<Mapping[]> {
  // A database filter also finds the selector mappings whose labels that database carries.
  const { rows } = await db.query<MappingRow>(
    `SELECT * FROM mappings
     WHERE ($1::text IS NULL OR database_name = $1
            OR (selector IS NOT NULL AND (SELECT labels FROM databases WHERE name = $1) @> selector))
       AND ($2::text IS NULL OR issuer = $2)
       AND ($3::text IS NULL OR subject = $3) AND ($4::text IS NULL OR group_name = $4)
       AND ($5::text IS NULL OR owner = $5)
     ORDER BY name`,
    [f.database ?? null, f.issuer ?? null, f.subject ?? null, f.group ?? null, f.owner ?? null],
  );
  return rows.map(toMapping);
}

/** Inserts; undefined when the name is taken. */
export async function insertMapping(db: Queryable, id: string, name: string, m: MappingInput, now: Date): Promise<Mapping | undefined> {
  const { rows } = await db.query<MappingRow>(
    `INSERT INTO mappings (id, ${FIELDS}, created_at, updated_at) VALUES ($1, ${PLACEHOLDERS}, $16, $16)
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [id, ...values(name, m), now],
  );
  return rows[0] && toMapping(rows[0]);
}

/** Replaces every field; undefined when the new name belongs to another mapping. */
export async function updateMapping(db: Queryable, id: string, name: string, m: MappingInput, now: Date): Promise<Mapping | undefined> {
  const { rows } = await db.query<MappingRow>(
    `UPDATE mappings SET (${FIELDS}, updated_at, version) = (${PLACEHOLDERS}, $16, version + 1)
     WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM mappings o WHERE o.name = $2 AND o.id <> $1) RETURNING *`,
    [id, ...values(name, m), now],
  );
  return rows[0] && toMapping(rows[0]);
}

export async function deleteMapping(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM mappings WHERE id = $1', [id]);
  return rowCount > 0;
}
