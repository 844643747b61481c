/** What the repositories need from a database: parameterised queries and transactions. */
export interface QueryOptions {
  /**
   * Keep this statement prepared on each connection under this name, so the server parses and
   * plans it once per connection rather than on every call. For hot statements whose text never
   * changes in a process; one name, one text. Stores without named statements ignore it.
   */
  preparedName?: string;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<{ rows: Row[]; rowCount: number }>;
  /** Runs several statements at once (migrations); no parameters. */
  exec(sql: string): Promise<void>;
}

/** What a NOTIFY subscriber is told (see Store.listen). */
export interface ListenHandlers {
  onNotify: (payload: string) => void;
  /** LISTEN is in place (first time, or again after a lost connection: anything may have changed since). */
  onListening: () => void;
  onLost: (err: Error, retryInMs: number) => void;
}

export interface StoreListener {
  /** Resolves after the first attempt; never rejects (a failure is reported to onLost and retried). */
  start(): Promise<void>;
  readonly listening: boolean;
  stop(): Promise<void>;
}

export interface Store extends Queryable {
  /**
   * LISTEN on a channel: on a server, over a dedicated connection that reconnects by itself; on
   * the embedded store, in process (one process, so it only hears its own NOTIFYs). Optional: a
   * store without it (a test wrapper) is served by the version poll alone.
   */
  listen?(channel: string, handlers: ListenHandlers): StoreListener;
  readonly kind: 'postgres' | 'embedded';
  /** Runs fn in one transaction: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs fn on one dedicated connection (needed for session-level advisory locks). */
  withSession<T>(fn: (session: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** The connection pool's state now (metrics); absent on the embedded store, which has no pool. */
  poolStats?(): PoolStats;
}

export interface PoolStats {
  /** Connections open, busy or idle. */
  total: number;
  idle: number;
  /** Queries waiting for a connection: the pool is the bottleneck while this is above 0. */
  waiting: number;
  max: number;
}

/** store.transaction, followed by `after` whether it committed or not (e.g. to drop a cache). */
export function transactionThen(store: Store, after: () => void) {
  return async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    try {
      return await store.transaction(fn);
    } finally {
      after();
    }
  };
}

/** SQLSTATE of a database error, whichever driver raised it. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const UNAVAILABLE_STATES = /^(08|53|57P0[1-3])/; // connection exceptions, insufficient resources, shutdown
const CLIENT_SIDE = /timeout|Connection terminated|ECONNREFUSED|ECONNRESET|Client has encountered a connection error|Cannot use a pool after calling end/i;

/** True when an error means the store could not be reached or answered in time (a 503, not a 500). */
export function isStoreUnavailable(err: unknown): boolean {
  const state = sqlState(err);
  if (state) return UNAVAILABLE_STATES.test(state) || state === '57014'; // 57014: statement timeout
  const e = err as { code?: unknown; message?: unknown } | null;
  return CLIENT_SIDE.test(String(e?.code ?? '')) || CLIENT_SIDE.test(String(e?.message ?? ''));
}
