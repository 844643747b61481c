import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Queryable, Store } from './store.js';

function wrap(db: PGlite | Transaction): Queryable {
  return {
    async query(sql, params) {
      const result = await db.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as never[], rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql) {
      await db.exec(sql);
    },
  };
}

export interface EmbeddedStoreOptions {
  /**
   * Start from this dump of a data directory (dumpDataDir) instead of running initdb: about a
   * third of the time (~0.45 s against ~1.4 s here). The test suite starts its in-memory stores
   * from one migrated dump (test/support/test-store.ts).
   */
  loadDataDir?: Blob;
}

export interface EmbeddedStore extends Store {
  /** The whole data directory as an uncompressed tarball, for loadDataDir. */
  dumpDataDir(): Promise<Blob>;
}

/**
 * The embedded PostgreSQL (PGlite): the same SQL and migrations as a server, in a local folder,
 * so dab runs on a fresh machine. It has one connection, so every call is already serialised.
 * dataDir undefined means in memory (tests).
 */
export async function createEmbeddedStore(dataDir?: string, opts: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  const base = wrap(db);
  return {
    kind: 'embedded',
    query: base.query,
    exec: base.exec,
    withSession: (fn) => fn(base),
    listen(channel, handlers) {
      let unlisten: (() => Promise<void>) | undefined;
      return {
        async start() {
          unlisten = await db.listen(channel, handlers.onNotify);
          handlers.onListening();
        },
        get listening() {
          return unlisten !== undefined;
        },
        async stop() {
          const u = unlisten;
          unlisten = undefined;
          if (u && !db.closed) await u();
        },
      };
    },
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    dumpDataDir: () => db.dumpDataDir('none'),
    close: () => db.close(),
  };
}
