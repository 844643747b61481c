import { COMMON_FIELDS } from '../engines/registration.js';
import type { Queryable } from '../store/store.js';
import type { CreateDatabaseBody, Database } from './database-schema.js';

interface DatabaseRow {
  name: string;
  engine: string;
  host: string;
  port: number;
  region: string;
  role_arn: string;
  external_id: string | null;
  /** The engine's own fields (src/engines/): dbname and sslmode for SQL engines, etc. */
  settings: Record<string, unknown>;
  levels: Database['levels'];
  description: string | null;
  labels: Record<string, string>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

function toDatabase(row: DatabaseRow): Database {
  return {
    name: row.name,
    engine: row.engine,
    host: row.host,
    port: row.port,
    region: row.region,
    roleArn: row.role_arn,
    ...(row.external_id ? { externalId: row.external_id } : {}),
    ...row.settings,
    ...(row.description ? { description: row.description } : {}),
    ...(Object.keys(row.labels).length ? { labels: row.labels } : {}),
    levels: row.levels,
    version: row.version,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** The fields that are not common to every engine: what the settings column holds. */
const settingsOf = (d: CreateDatabaseBody): Record<string, unknown> =>
  Object.fromEntries(Object.entries(d).filter(([k, v]) => !COMMON_FIELDS.has(k) && v !== undefined));

const FIELDS = 'engine, host, port, region, role_arn, external_id, settings, levels, description, labels';
const values = (d: StoredBody): unknown[] => [
  d.name, d.engine, d.host, d.port, d.region, d.roleArn, d.externalId ?? null, JSON.stringify(settingsOf(d)), JSON.stringify(d.levels), d.description ?? null,
  JSON.stringify(d.labels ?? {}),
];
/** A body with the engine's defaults filled in (registration.ts withEngineDefaults). */
type StoredBody = CreateDatabaseBody & { engine: string; port: number };

export async function findDatabase(db: Queryable, name: string, forUpdate = false): Promise<Database | undefined> {
  const { rows } = await db.query<DatabaseRow>(`SELECT * FROM databases WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0] && toDatabase(rows[0]);
}

export async function listDatabases(db: Queryable): Promise<Database[]> {
  const { rows } = await db.query<DatabaseRow>('SELECT * FROM databases ORDER BY name');
  return rows.map(toDatabase);
}

/** Inserts; undefined when the name is taken. */
export async function insertDatabase(db: Queryable, d: StoredBody, now: Date): Promise<Database | undefined> {
  const { rows } = await db.query<DatabaseRow>(
    `INSERT INTO databases (name, ${FIELDS}, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11::jsonb, $12, $12)
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [...values(d), now],
  );
  return rows[0] && toDatabase(rows[0]);
}

export async function updateDatabase(db: Queryable, d: StoredBody, now: Date): Promise<Database | undefined> {
  const { rows } = await db.query<DatabaseRow>(
    `UPDATE databases SET (${FIELDS}, updated_at, version) = ($2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11::jsonb, $12, version + 1)
     WHERE name = $1 RETURNING *`,
    [...values(d), now],
  );
  return rows[0] && toDatabase(rows[0]);
}

export async function deleteDatabase(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM databases WHERE name = $1', [name]);
  return rowCount > 0;
}
