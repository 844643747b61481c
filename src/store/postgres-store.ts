import pg from 'pg';
import { createPgListener } from './pg-listener.js';
import type { Queryable, Store } from './store.js';

export interface PostgresStoreOptions {
  url: string;
  poolMax: number;
  connectionTimeoutMs: number;
  statementTimeoutMs: number;
  onPoolError: (err: Error) => void;
  /** Honour QueryOptions.preparedName (default true); off, every statement is parsed each time. */
  preparedStatements?: boolean;
}

function wrap(client: pg.Pool | pg.PoolClient, prepared: boolean): Queryable {
  return {
    async query(sql, params, options) {
      const values = params as unknown[] | undefined;
      const name = prepared ? options?.preparedName : undefined;
      const result = name ? await client.query({ name, text: sql, values }) : await client.query(sql, values);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    async exec(sql) {
      await client.query(sql);
    },
  };
}

/** A PostgreSQL server reached through a pg Pool with bounded connect and statement times. */
export function createPostgresStore(opts: PostgresStoreOptions): Store {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax,
    connectionTimeoutMillis: opts.connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    // Enforced by the server, and by the client too in case the server never answers.
    statement_timeout: opts.statementTimeoutMs,
    query_timeout: opts.statementTimeoutMs + 1000,
    application_name: 'dab',
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', opts.onPoolError);
  const prepared = opts.preparedStatements ?? true;
  const base = wrap(pool, prepared);

  async function withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(wrap(client, prepared));
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      // A client whose query failed mid-protocol is discarded rather than reused.
      client.release(broken && !(broken as { code?: string }).code ? broken : undefined);
    }
  }

  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    withSession,
    listen: (channel, handlers) => createPgListener({ url: opts.url, channel, ...handlers }),
    transaction: (fn) =>
      withSession(async (session) => {
        await session.exec('BEGIN');
        try {
          const result = await fn(session);
          await session.exec('COMMIT');
          return result;
        } catch (err) {
          await session.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    close: () => pool.end(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: opts.poolMax }),
  };
}
