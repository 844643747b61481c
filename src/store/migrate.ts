import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Store } from './store.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

// Any constant works; it only has to be the same for every dab instance sharing a database.
const MIGRATION_LOCK_KEY = 4_732_001;
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** The numbered .sql files shipped with this build, in order. */
export function bundledMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(file.slice(0, 3)),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/**
 * Applies pending migrations, forward only, each in its own transaction, under a session-level
 * advisory lock so that instances starting together apply each migration exactly once.
 * Refuses to start when an applied migration's file was edited afterwards.
 */
export async function migrate(store: Store, migrations = bundledMigrations()): Promise<{ applied: string[] }> {
  return store.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await session.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await session.query<{ version: number; checksum: string; name: string }>(
        'SELECT version, checksum, name FROM schema_migrations ORDER BY version',
      );
      const done = new Map(rows.map((r) => [r.version, r]));
      const applied: string[] = [];
      for (const m of migrations) {
        const previous = done.get(m.version);
        if (previous) {
          if (previous.checksum !== m.checksum) {
            throw new Error(`migration ${m.name} was changed after it was applied; add a new migration instead`);
          }
          continue;
        }
        await session.exec('BEGIN');
        try {
          await session.exec(m.sql);
          await session.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
          await session.exec('COMMIT');
        } catch (err) {
          await session.exec('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        applied.push(m.name);
      }
      return { applied };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}

/** True when every bundled migration is recorded as applied (readiness). */
export async function migrationsApplied(store: Store, migrations = bundledMigrations()): Promise<boolean> {
  // A reachable store that was never migrated has no schema_migrations table: not ready, not unreachable.
  const table = await store.query<{ present: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!table.rows[0]?.present) return false;
  const { rows } = await store.query<{ n: string | number }>('SELECT count(*) AS n FROM schema_migrations WHERE version = ANY($1::int[])', [
    migrations.map((m) => m.version),
  ]);
  return Number(rows[0]?.n) === migrations.length;
}
