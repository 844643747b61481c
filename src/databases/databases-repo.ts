import type { Queryable } from '../store/store.js';
import type { CreateDatabaseBody, Database } from './database-schema.js';

interface DatabaseRow {
  name: string;
  host: string;
  port: number;
  region: string;
  dbname: string;
  role_arn: string;
  external_id: string | null;
  sslmode: Database['sslmode'];
  levels: Database['levels'];
  description: string | null;
  labels: Record<string, string>;
  resource_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function toDatabase(row: DatabaseRow): Database {
  return {
    name: row.name,
    host: row.host,
    port: row.port,
    region: row.region,
    dbname: row.dbname,
    roleArn: row.role_arn,
    ...(row.external_id ? { externalId: row.external_id } : {}),
    sslmode: row.sslmode,
    ...(row.description ? { description: row.description } : {}),
    ...(Object.keys(row.labels).length ? { labels: row.labels } : {}),
    ...(row.resource_id ? { resourceId: row.resource_id } : {}),
    levels: row.levels,
    version: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

const FIELDS = 'host, port, region, dbname, role_arn, external_id, sslmode, levels, description, labels, resource_id';
const values = (d: CreateDatabaseBody): unknown[] => [
  d.name, d.host, d.port, d.region, d.dbname, d.roleArn, d.externalId ?? null, d.sslmode, JSON.stringify(d.levels), d.description ?? null,
  JSON.stringify(d.labels ?? {}), d.resourceId ?? null,
];

export async function findDatabase(db: Queryable, name: string, forUpdate = false): Promise<Database | undefined> {
  const { rows } = await db.query<DatabaseRow>(`SELECT * FROM databases WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0] && toDatabase(rows[0]);
}

export async function listDatabases(db: Queryable): Promise<Database[]> {
  const { rows } = await db.query<DatabaseRow>('SELECT * FROM databases ORDER BY name');
  return rows.map(toDatabase);
}

/** Inserts; undefined when the name is taken. */
export async function insertDatabase(db: Queryable, d: CreateDatabaseBody, now: Date): Promise<Database | undefined> {
  const { rows } = await db.query<DatabaseRow>(
    `INSERT INTO databases (name, ${FIELDS}, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13, $13)
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [...values(d), now],
  );
  return rows[0] && toDatabase(rows[0]);
}

export async function updateDatabase(db: Queryable, d: CreateDatabaseBody, now: Date): Promise<Database | undefined> {
  const { rows } = await db.query<DatabaseRow>(
    `UPDATE databases SET (${FIELDS}, updated_at, version) = ($2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13, version + 1)
     WHERE name = $1 RETURNING *`,
    [...values(d), now],
  );
  return rows[0] && toDatabase(rows[0]);
}

export async function deleteDatabase(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM databases WHERE name = $1', [name]);
  return rowCount > 0;
}
