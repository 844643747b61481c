import { requestCredentials, type Credentials, type CredentialsRequest } from './dab-client.js';

// A credentials provider for node-redis (`redis` / `@redis/client` ≥ 5) against ElastiCache with
// IAM auth. Its shape is node-redis's StreamingCredentialsProvider, written out here so the client
// package needs no Redis types: node-redis asks subscribe() on every (re)connect and sends AUTH
// with whatever onNext later hands it, on the open connection.

export interface RedisBasicAuth { username: string; password: string }
export interface RedisCredentialsProvider {
  readonly type: 'streaming-credentials-provider';
  subscribe(listener: { onNext(c: RedisBasicAuth): void; onError(e: Error): void }): Promise<[RedisBasicAuth, { dispose(): void }]>;
  onReAuthenticationError(error: Error): void;
  /** The grant last fetched (its host and port are where to connect). */
  current(): Credentials | undefined;
}

export interface DabRedisOptions extends CredentialsRequest {
  /** A new connection gets a token with at least this long left (default 60 s). */
  refreshBeforeMs?: number;
  /** Open connections re-authenticate this long after they (last) logged in (default 11 h; ElastiCache closes them at 12 h). */
  reauthenticateAfterMs?: number;
  /** A failed re-authentication fetch is retried this often until the 12 h limit is near (default 60 s). */
  retryMs?: number;
  /** Told when a connection could not re-authenticate (node-redis reports it here). Default: a process warning. */
  onReAuthenticationError?: (error: Error) => void;
  now?: () => number;
}

const TWELVE_HOURS_MS = 12 * 60 * 60 * 1000;

export function dabRedisCredentials(opts: DabRedisOptions): RedisCredentialsProvider {
  const refreshBeforeMs = opts.refreshBeforeMs ?? 60_000;
  const reauthAfterMs = opts.reauthenticateAfterMs ?? 11 * 60 * 60 * 1000;
  const retryMs = opts.retryMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let cached: Credentials | undefined;
  let inFlight: Promise<Credentials> | undefined;

  /** A grant with time left, shared by concurrent connections. */
  const fresh = async (): Promise<RedisBasicAuth> => {
    if (!cached || Date.parse(cached.expiresAt) - now() <= refreshBeforeMs) {
      inFlight ??= requestCredentials(opts)
        .then((c) => (cached = c))
        .finally(() => (inFlight = undefined));
      await inFlight;
    }
    const c = cached as Credentials;
    return { username: c.user, password: c.token };
  };

  return {
    type: 'streaming-credentials-provider',
    current: () => cached,
    onReAuthenticationError: opts.onReAuthenticationError ?? ((e) => process.emitWarning(`dab: a Redis connection could not re-authenticate: ${e.message}`)),
    async subscribe(listener) {
      const initial = await fresh();
      let timer: NodeJS.Timeout | undefined;
      let disposed = false;
      // Each login restarts the connection's 12 h clock; re-authenticate well before it runs out.
      const schedule = (loggedInAt: number, delay: number) => {
        if (disposed) return;
        timer = setTimeout(() => {
          fresh().then(
            (c) => {
              if (disposed) return;
              listener.onNext(c);
              schedule(now(), reauthAfterMs);
            },
            (err: Error) => {
              if (disposed) return;
              if (now() + retryMs < loggedInAt + TWELVE_HOURS_MS - refreshBeforeMs) schedule(loggedInAt, retryMs);
              else listener.onError(err);
            },
          );
        }, delay);
        timer.unref();
      };
      schedule(now(), reauthAfterMs);
      return [initial, { dispose: () => ((disposed = true), clearTimeout(timer)) }];
    },
  };
}

/**
 * Ready createClient() options: fetches one grant to learn the endpoint, then keeps credentials
 * fresh. ElastiCache requires TLS for IAM auth; pass `tls` to add a CA (the sandbox's self-signed one).
 */
export async function dabRedisOptions(opts: DabRedisOptions & { tls?: { ca?: string; rejectUnauthorized?: boolean } }) {
  const credentialsProvider = dabRedisCredentials(opts);
  const [, subscription] = await credentialsProvider.subscribe({ onNext: () => {}, onError: () => {} });
  subscription.dispose();
  const c = credentialsProvider.current() as Credentials;
  return { credentialsProvider, socket: { host: c.host, port: c.port, tls: true as const, servername: c.host, ...opts.tls } };
}
