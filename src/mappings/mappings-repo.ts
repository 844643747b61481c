import type { AccessLevel } from '../databases/database-schema.js';
import type { Queryable } from '../store/store.js';
import type { Mapping, MappingFilter, MappingInput } from './mapping-schema.js';

interface MappingRow {
  id: string;
  issuer: string;
  subject: string | null;
  group_name: string | null;
  database_name: string;
  levels: AccessLevel[];
  expires_at: Date | null;
  description: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function toMapping(row: MappingRow): Mapping {
  return {
    id: row.id,
    principal: row.subject !== null ? { issuer: row.issuer, subject: row.subject } : { issuer: row.issuer, group: row.group_name as string },
    database: row.database_name,
    levels: row.levels,
    ...(row.expires_at ? { expiresAt: new Date(row.expires_at).toISOString() } : {}),
    ...(row.description ? { description: row.description } : {}),
    version: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

const values = (m: MappingInput): unknown[] => [
  m.principal.issuer,
  'subject' in m.principal ? m.principal.subject : null,
  'group' in m.principal ? m.principal.group : null,
  m.database,
  m.levels,
  m.expiresAt ?? null,
  m.description ?? null,
];

/** Every mapping of one database (index prefix: database_name); the cache indexes them by principal. */
export async function listDatabaseMappings(db: Queryable, databaseName: string): Promise<Mapping[]> {
  const { rows } = await db.query<MappingRow>('SELECT * FROM mappings WHERE database_name = $1', [databaseName]);
  return rows.map(toMapping);
}

export async function findMapping(db: Queryable, id: string, forUpdate = false): Promise<Mapping | undefined> {
  const { rows } = await db.query<MappingRow>(`SELECT * FROM mappings WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toMapping(rows[0]);
}

export async function listMappings(db: Queryable, f: MappingFilter): Promise<Mapping[]> {
  const { rows } = await db.query<MappingRow>(
    `SELECT * FROM mappings
     WHERE ($1::text IS NULL OR database_name = $1) AND ($2::text IS NULL OR issuer = $2)
       AND ($3::text IS NULL OR subject = $3) AND ($4::text IS NULL OR group_name = $4)
     ORDER BY database_name, issuer, coalesce(subject, group_name), id`,
    [f.database ?? null, f.issuer ?? null, f.subject ?? null, f.group ?? null],
  );
  return rows.map(toMapping);
}

export async function insertMapping(db: Queryable, id: string, m: MappingInput, now: Date): Promise<Mapping> {
  const { rows } = await db.query<MappingRow>(
    `INSERT INTO mappings (id, issuer, subject, group_name, database_name, levels, expires_at, description, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::text[], $7::timestamptz, $8, $9, $9) RETURNING *`,
    [id, ...values(m), now],
  );
  return toMapping(rows[0] as MappingRow);
}

export async function updateMapping(db: Queryable, id: string, m: MappingInput, now: Date): Promise<Mapping | undefined> {
  const { rows } = await db.query<MappingRow>(
    `UPDATE mappings SET (issuer, subject, group_name, database_name, levels, expires_at, description, updated_at, version)
       = ($2, $3, $4, $5, $6::text[], $7::timestamptz, $8, $9, version + 1)
     WHERE id = $1 RETURNING *`,
    [id, ...values(m), now],
  );
  return rows[0] && toMapping(rows[0]);
}

export async function deleteMapping(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM mappings WHERE id = $1', [id]);
  return rowCount > 0;
}
