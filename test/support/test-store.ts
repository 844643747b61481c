import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded-store.js';
import { bundledMigrations, migrate } from '../../src/store/migrate.js';
import { createPostgresStore } from '../../src/store/postgres-store.js';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import type { Store } from '../../src/store/store.js';

export interface TestStore {
  store: Store;
  /** A URL for the same database (server store only), for tests that need a second connection. */
  url?: string;
  close(): Promise<void>;
}

/**
 * A dump of an embedded store with every bundled migration applied, shared by the suite's test
 * processes through a file named after its inputs (the migrations' text and the PGlite version),
 * so a changed migration or PGlite makes a new one. initdb inside PGlite costs ~1.4 s a store on
 * this machine and the suite opens over a hundred; loading this dump costs ~0.45 s. Written to a
 * temporary name and renamed, so a reader never sees half a file; two processes racing both write
 * the same bytes.
 */
let template: Promise<Blob> | undefined;
function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    // (The package does not export its package.json.)
    const pgliteVersion = (JSON.parse(await readFile(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const key = createHash('sha256').update(pgliteVersion).update(bundledMigrations().map((m) => m.checksum).join(',')).digest('hex').slice(0, 16);
    const file = join(tmpdir(), `dab-test-store-${key}.tar`);
    const cached = await readFile(file).catch(() => undefined);
    if (cached) return new Blob([cached]);
    const fresh: EmbeddedStore = await createEmbeddedStore();
    try {
      await migrate(fresh);
      const dump = await fresh.dumpDataDir();
      const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, file);
      return dump;
    } finally {
      await fresh.close();
    }
  })();
  return template;
}

/**
 * The store a test file runs against: a fresh database on the server named by DATABASE_URL (so
 * test files never see each other's rows), otherwise a fresh in-memory embedded PostgreSQL.
 * Migrations are applied, as `dab serve` does at start-up.
 */
export async function openTestStore(opts: { migrateUpTo?: number } = {}): Promise<TestStore> {
  const serverUrl = process.env.DATABASE_URL;
  // Upgrade tests start from an older schema and migrate the rest themselves.
  const migrations = opts.migrateUpTo === undefined ? undefined : bundledMigrations().filter((m) => m.version <= (opts.migrateUpTo as number));
  if (!serverUrl) {
    const store = migrations ? await createEmbeddedStore() : await createEmbeddedStore(undefined, { loadDataDir: await migratedTemplate() });
    // On the template this applies nothing, and checks the recorded checksums as dab serve does.
    await migrate(store, migrations);
    return { store, close: () => store.close() };
  }
  const name = `dab_test_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(serverUrl, `CREATE DATABASE ${name}`);
  const url = urlForDatabase(serverUrl, name);
  const store = createPostgresStore({ url, poolMax: 10, connectionTimeoutMs: 5000, statementTimeoutMs: 5000, onPoolError: () => undefined });
  await migrate(store, migrations);
  return {
    store,
    url,
    async close() {
      await store.close();
      await runSqlOnce(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}


/**
 * A fresh store with no migrations applied (upgrade tests apply some, write as an older version
 * would, then apply the rest): a new database on DATABASE_URL's server, else embedded. Closed and
 * dropped at the end of the test file.
 */
export async function openUnmigratedStore(t: { teardown(fn: () => unknown): void }): Promise<Store> {
  const serverUrl = process.env.DATABASE_URL;
  const store = serverUrl ? undefined : await createEmbeddedStore();
  if (store) {
    t.teardown(() => store.close());
    return store;
  }
  const name = `dab_test_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(serverUrl as string, `CREATE DATABASE ${name}`);
  const server = createPostgresStore({ url: urlForDatabase(serverUrl as string, name), poolMax: 4, connectionTimeoutMs: 5000, statementTimeoutMs: 5000, onPoolError: () => undefined });
  t.teardown(async () => {
    await server.close();
    await runSqlOnce(serverUrl as string, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return server;
}
