import { randomUUID } from 'node:crypto';
import { explainConnectFailure, scrub } from '../../bootstrap/preflight-explain.js';
import type { LoginCheck, LoginOutcome, LoginRequest } from '../engine.js';
import { accessStringOf, cacheSettings } from './cache-fields.js';

// The preflight login for ElastiCache: AUTH as the level's user with a fresh token over TLS, then
// prove the level bites. ro and monitor: a write is refused with NOPERM (ro also reads); rw: a
// write of a fresh key inside the access string's key pattern (e.g. ~app:* → app:dab-preflight-<uuid>)
// that expires by itself and is deleted right after.

const TLS_HINT = 'dab must trust the cache certificate (e.g. NODE_EXTRA_CA_CERTS), or register tls require';

type Send = (args: string[]) => Promise<unknown>;

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(Object.assign(new Error(`${what}: timeout`), { code: 'ETIMEDOUT' })), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const errorText = (err: unknown, req: LoginRequest) => scrub((err as Error)?.message ?? String(err), req.secrets);

function explainRefusal(err: unknown, req: LoginRequest): LoginOutcome {
  const { host, port } = req.db;
  const generic = explainConnectFailure(err, { host, port, timeoutMs: req.timeoutMs, secrets: req.secrets, tlsHint: TLS_HINT });
  if (generic) return generic;
  const text = errorText(err, req);
  const { cacheName, serverless } = cacheSettings(req.db);
  if (/WRONGPASS|NOAUTH/.test(text)) {
    return {
      status: 'failed',
      message: `the login was refused (${text}): check that user ${req.dbUser} exists with authentication mode iam and is in the cache's user group (run the bootstrap commands), that ${req.roleArn} allows elasticache:Connect on the cache and on that user, and that the token's cache name ${cacheName} (serverless: ${serverless}) is the cache's real name`,
    };
  }
  return { status: 'failed', message: `the login failed (${text})` };
}

/**
 * A key no one uses, inside the level's first key pattern: the pattern's prefix before a trailing
 * "*" plus a fresh name. Undefined when no pattern leaves room for one (a literal key, a glob in the
 * middle): then nothing is written, so no real key is ever touched.
 */
export function scratchKey(accessString: string, id: string = randomUUID()): string | undefined {
  const rules = accessString.split(/\s+/);
  const pattern = rules.includes('allkeys') ? '*' : rules.map((r) => /^(?:%R?W?)?~(.*)$/.exec(r)?.[1]).find((p) => p !== undefined);
  if (pattern === undefined || !pattern.endsWith('*') || /[*?[\]\\]/.test(pattern.slice(0, -1))) return undefined;
  return `${pattern.slice(0, -1)}${pattern === '*' ? 'dab:preflight:' : 'dab-preflight-'}${id}`;
}

/** What the level may do, shown by trying it: the outcome for a logged-in session. */
async function proveLevel(send: Send, req: LoginRequest): Promise<LoginOutcome> {
  const as = `logged in to ${req.db.host}:${req.db.port} over TLS as ${req.dbUser}`;
  const key = scratchKey(accessStringOf(req.db, req.level));
  if (!key) {
    const pong = await send(['PING']).then(() => undefined, (err: Error) => err);
    if (pong) return { status: 'failed', message: `${as}, but PING was refused (${errorText(pong, req)})` };
    return { status: 'ok', message: `${as}; its key patterns leave no room for a scratch key, so reads and writes were not tried` };
  }
  const write = await send(['SET', key, '1', 'PX', '60000']).then(
    () => undefined,
    (err: Error) => err,
  );
  if (req.level === 'rw') {
    if (write) return { status: 'failed', message: `${as}, but a write was refused (${errorText(write, req)}): the rw access string must grant +@write` };
    await send(['DEL', key]).catch(() => undefined); // it expires within a minute anyway
    return { status: 'ok', message: `${as}; SET works` };
  }
  if (!write) {
    await send(['DEL', key]).catch(() => undefined);
    return { status: 'failed', message: `${as}, and it could write (SET ${key} succeeded, then deleted): the ${req.level} access string must not grant writes` };
  }
  if (!/^NOPERM/.test(write.message)) return { status: 'failed', message: `${as}, but SET failed otherwise than with NOPERM (${errorText(write, req)})` };
  if (req.level === 'monitor') return { status: 'ok', message: `${as}; SET is refused (NOPERM)` };
  const read = await send(['GET', key]).then(
    () => undefined,
    (err: Error) => err,
  );
  if (read) return { status: 'failed', message: `${as}, but GET was refused (${errorText(read, req)}): the ro access string must grant +@read on the keys` };
  return { status: 'ok', message: `${as}; GET works, SET is refused (NOPERM)` };
}

export const valkeyLogin: LoginCheck = async (req) => {
  // Loaded here, not at the top: the engine registry (which `dab creds` reads) must not load redis.
  const { createClient } = await import('redis');
  const { host, port } = req.db;
  const { tls } = cacheSettings(req.db);
  const client = createClient({
    username: req.dbUser,
    password: req.token,
    disableClientInfo: true,
    socket: { host, port, tls: true, servername: host, rejectUnauthorized: tls === 'verify-full', connectTimeout: req.timeoutMs, reconnectStrategy: false },
  });
  client.on('error', () => undefined); // errors surface through the awaited calls
  try {
    await within(client.connect(), req.timeoutMs, 'connect');
  } catch (err) {
    client.destroy();
    return explainRefusal(err, req);
  }
  try {
    return await proveLevel((args) => within(client.sendCommand(args), req.timeoutMs, args[0] ?? 'command'), req);
  } finally {
    client.destroy();
  }
};
