import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { createAclUsers, type AclUsers } from './acl-users.js';
import { createElastiCacheIamCheck } from './elasticache-iam-check.js';
import { startRespGate, type RespGate, type RespGateLogEvent } from './resp-gate.js';
import { startThrowawayRedis } from './throwaway-redis.js';
import type { StsEmulator } from '../sts-emulator.js';

// The sandbox's ElastiCache: a real Redis (a throwaway redis-server, or the one at
// DAB_SANDBOX_REDIS_URL) behind the RESP gate, with one ACL user per level standing for the
// ElastiCache user and its access string.

export const DEMO_CACHE = {
  /** dab's registration name, and the cache name the tokens are signed for. */
  name: 'demo-cache',
  users: { ro: 'demo-ro', rw: 'demo-rw' },
  access: { ro: 'on ~demo:* -@all +@read +ping', rw: 'on ~demo:* -@all +@read +@write +ping' },
  key: 'demo:greeting',
} as const;

export interface DemoCache {
  gate: RespGate;
  upstream: { host: string; port: number; kind: 'given' | 'throwaway' };
  close(): Promise<void>;
}

export interface DemoCacheOptions {
  host: string;
  sts: StsEmulator;
  region: string;
  /** The role of each level (elasticache:Connect as that level's user only). */
  roles: { ro: string; rw: string };
  /** redis://host:port of a server to use instead of a throwaway one. */
  redisUrl?: string;
  now?: () => Date;
  log?: (event: RespGateLogEvent) => void;
}

export async function startDemoCache(opts: DemoCacheOptions): Promise<DemoCache> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    let upstream: DemoCache['upstream'];
    if (opts.redisUrl) {
      const u = new URL(opts.redisUrl);
      upstream = { host: u.hostname, port: Number(u.port || 6379), kind: 'given' };
    } else {
      const server = await startThrowawayRedis();
      closers.push(() => server.stop());
      upstream = { host: server.host, port: server.port, kind: 'throwaway' };
    }
    // A unique prefix: a given server may be shared, and a second sandbox must not clash.
    const acl: AclUsers = await createAclUsers(upstream, `dab_sandbox_${randomBytes(4).toString('hex')}_`, {
      [DEMO_CACHE.users.ro]: DEMO_CACHE.access.ro,
      [DEMO_CACHE.users.rw]: DEMO_CACHE.access.rw,
    });
    closers.push(() => acl.remove());
    await seed(upstream);
    const gate = await startRespGate({
      host: opts.host,
      upstream,
      authenticate: createElastiCacheIamCheck({
        sts: opts.sts,
        region: opts.region,
        cacheName: DEMO_CACHE.name,
        serverless: false,
        connectPolicy: new Map<string, ReadonlySet<string>>([
          [opts.roles.ro, new Set([DEMO_CACHE.users.ro])],
          [opts.roles.rw, new Set([DEMO_CACHE.users.rw])],
        ]),
        aclUser: (user) => acl.lookup(user),
        ...(opts.now ? { now: opts.now } : {}),
      }),
      ...(opts.log ? { log: opts.log } : {}),
    });
    closers.push(() => gate.close());
    return { gate, upstream, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function seed(server: { host: string; port: number }): Promise<void> {
  const client = createClient({ socket: { host: server.host, port: server.port, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.set(DEMO_CACHE.key, 'hello from the dab sandbox');
  } finally {
    client.destroy();
  }
}

/** The registration the sandbox makes through dab's API, as a DBA would. */
export function demoCacheRegistration(gate: RespGate, region: string, roles: { ro: string; rw: string }, externalId: string) {
  return {
    name: DEMO_CACHE.name,
    engine: 'valkey',
    host: gate.host,
    port: gate.port,
    region,
    cacheName: DEMO_CACHE.name,
    serverless: false,
    // The gate's certificate is self-signed: dab's preflight cannot verify it (redis-cli is given it with --cacert).
    tls: 'require',
    roleArn: roles.ro,
    externalId,
    description: 'Sandbox demo cache: a real Redis behind the local ElastiCache-like IAM gate',
    levels: {
      ro: { dbUser: DEMO_CACHE.users.ro, roleArn: roles.ro, accessString: DEMO_CACHE.access.ro },
      rw: { dbUser: DEMO_CACHE.users.rw, roleArn: roles.rw, accessString: DEMO_CACHE.access.rw },
    },
  };
}
