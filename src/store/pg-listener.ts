import pg from 'pg';

export interface PgListenerOptions {
  url: string;
  channel: string;
  onNotify: (payload: string) => void;
  /**
   * Called each time LISTEN is (re)established, the first time included: notifications sent while
   * it was down are lost, so whoever listens must treat this as "anything may have changed".
   */
  onListening: () => void;
  /** A lost connection, with the delay before the next attempt (ms). */
  onLost: (err: Error, retryInMs: number) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

// Channel names are our own constants; quoted as identifiers all the same.
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * One dedicated connection (not from the pool: a pooled client would be handed back and LISTEN
 * lost with it) holding LISTEN on one channel, reconnecting with capped exponential backoff
 * whenever it drops. TCP keepalive makes a silently dead peer surface as an error eventually; until
 * then the listener only looks healthy, which is why callers keep their poll as the bound.
 */
export function createPgListener(opts: PgListenerOptions) {
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  let backoff = minBackoff;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let connecting: Promise<void> | undefined;

  function retryLater(err: Error): void {
    if (stopped) return;
    const delay = backoff;
    backoff = Math.min(maxBackoff, backoff * 2);
    opts.onLost(err, delay);
    timer = setTimeout(() => void connect(), delay);
    timer.unref();
  }

  async function attempt(): Promise<void> {
    const c = new pg.Client({ connectionString: opts.url, application_name: 'dab-listen', keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      if (client === c) client = undefined;
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      retryLater(err);
    };
    c.on('error', fail);
    c.on('end', () => fail(new Error('listen connection ended')));
    c.on('notification', (n) => {
      if (n.channel === opts.channel) opts.onNotify(n.payload ?? '');
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${quoteIdent(opts.channel)}`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (stopped) {
      failed = true;
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    backoff = minBackoff;
    opts.onListening();
  }

  function connect(): Promise<void> {
    connecting = attempt().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  return {
    /** Resolves after the first attempt (listening, or a retry scheduled): never rejects. */
    start: () => connect(),
    get listening(): boolean {
      return client !== undefined;
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await connecting;
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
