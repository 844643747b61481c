import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../config/load-config.js';
import { startServer, type RunningServer } from '../server.js';
import { DEMO_CACHE, demoCacheRegistration, startDemoCache, type DemoCache } from './resp/demo-cache.js';
import { DEMO_USERS, openTargetDatabase, seedDemoDatabase, type TargetDatabase } from './demo-database.js';
import { startIamGate, type GateLogEvent, type IamGate } from './iam-gate.js';
import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.js';
import { DEFAULT_MYSQL_SERVER, startMysqlDemo, type MysqlDemo, type MysqlServer } from './mysql/demo-mysql.js';
import { createRdsIamCheck } from './rds-iam-check.js';
import type { RespGateLogEvent } from './resp/resp-gate.js';
import { findRedisServer } from './resp/throwaway-redis.js';
import { startStsEmulator, type StsEmulator } from './sts-emulator.js';

export const SANDBOX_ACCOUNT = '000000000000';
export const SANDBOX_REGION = 'us-east-1';
export const SANDBOX_EXTERNAL_ID = 'dab-sandbox-external-id';
export const SANDBOX_DATABASE = 'demo';
/** The MySQL/MariaDB demo database's registered name. */
export const SANDBOX_MYSQL_DATABASE = 'demo-mysql';
export const SANDBOX_PRINCIPALS = { app: 'demo-app', dba: 'demo-dba', auditor: 'demo-auditor' } as const;
const role = (name: string) => `arn:aws:iam::${SANDBOX_ACCOUNT}:role/${name}`;
// One role per level, as deploy/iam recommends: IAM (here, the gate) stops ro connecting as rw.
const LEVEL_ROLES = { ro: role('dab-demo-ro'), rw: role('dab-demo-rw'), monitor: role('dab-demo-monitor') } as const;
/** The "EC2 app": a role in a second account, as an instance profile gives it, mapped to ro on the demo. */
export const SANDBOX_EC2_APP = {
  account: '222222222222',
  roleArn: 'arn:aws:iam::222222222222:role/demo-ec2-app',
  stsArn: 'arn:aws:sts::222222222222:assumed-role/demo-ec2-app/i-0123456789abcdef0',
} as const;
export const SANDBOX_AWS_SERVER_ID = 'dab-sandbox';
/** The web console's OIDC client at the sandbox issuer (public: no secret). */
export const SANDBOX_CONSOLE_CLIENT = 'dab-console';
/** Who the sandbox issuer's login page offers: the same principals as the printed tokens. */
export const SANDBOX_LOGIN_PRINCIPALS = [
  { subject: SANDBOX_PRINCIPALS.dba, label: 'the DBA: databases, mappings, explain, dry-run, approvals' },
  { subject: SANDBOX_PRINCIPALS.auditor, label: 'the auditor: events, who held it, lookup, integrity' },
  { subject: SANDBOX_PRINCIPALS.app, label: 'the demo app: what it can get, requests for more' },
];
/** The console's address (and OIDC redirect URI) on a dab at this URL. */
export const consoleUrl = (dabUrl: string) => `${dabUrl.replace(/\/$/, '')}/console/`;

export interface SandboxOptions {
  host?: string;
  /** dab's port (default 8080; 0 picks a free one). */
  port?: number;
  dataDir?: string;
  /** Superuser URL of an existing PostgreSQL to broker; default: a throwaway cluster. */
  targetUrl?: string;
  logLevel?: 'info' | 'warn' | 'error' | 'silent';
  /** The gate's clock (tests move it to prove expired tokens are refused). */
  gateNow?: () => Date;
  /** The gate's connection log (authorized / auth_failed with the reason), like log_connections. */
  gateLog?: (event: GateLogEvent) => void;
  /** redis://host:port of a Redis / Valkey for the demo cache; default: a throwaway redis-server (none installed: no demo cache). */
  redisUrl?: string;
  /** The demo cache gate's connection log (its clock is gateNow too). */
  cacheLog?: (event: RespGateLogEvent) => void;
  /** Where the demo cache gate's certificate is written, for redis-cli --cacert (default .dab-sandbox/demo-cache-ca.pem). */
  cacheCaFile?: string;
  /** The MariaDB/MySQL server (root) for the MySQL demo; default root@127.0.0.1:3306; false: none. */
  mysql?: MysqlServer | false;
}

export interface Sandbox {
  dabUrl: string;
  server: RunningServer;
  issuer: OidcIssuer;
  sts: StsEmulator;
  gate: IamGate;
  target: TargetDatabase;
  /** The ElastiCache-like demo cache, with the path of its gate's certificate; absent without a Redis. */
  cache?: DemoCache & { caFile: string };
  /** The MySQL demo, when its server was reachable (else why not, in mysqlProblem). */
  mysql?: MysqlDemo;
  mysqlProblem?: string;
  tokens: Record<keyof typeof SANDBOX_PRINCIPALS, string>;
  /** The EC2 app's instance-profile credentials: with these alone, `dab creds … --aws` works. */
  ec2App: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  close(): Promise<void>;
}

/**
 * dab with everything it talks to, on loopback: a local OIDC issuer, the STS emulator, and a real
 * PostgreSQL behind an RDS-like IAM gate, seeded like a DBA would. Insecure by design: local only.
 */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const dataDir = opts.dataDir ?? '.dab-sandbox/store';
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const issuer = await startOidcIssuer({ host });
    closers.push(() => issuer.close());
    // Shell-safe characters only: the printed --aws line carries these verbatim.
    const secret = () => randomBytes(30).toString('base64url');
    const ec2App = { accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: secret(), sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(120).toString('base64url')}` };
    const sts = await startStsEmulator({
      host,
      accountId: SANDBOX_ACCOUNT,
      baseCredentials: [
        { accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: secret() }, // dab's own
        { ...ec2App, arn: SANDBOX_EC2_APP.stsArn },
      ],
    });
    closers.push(() => sts.close());
    for (const arn of Object.values(LEVEL_ROLES)) sts.addRole({ arn, externalId: SANDBOX_EXTERNAL_ID });

    const target = await openTargetDatabase(opts.targetUrl);
    closers.push(() => target.close());
    await seedDemoDatabase(target.url);
    const connectPolicy = new Map(Object.entries(LEVEL_ROLES).map(([level, arn]) => [arn, new Set([DEMO_USERS[level as keyof typeof DEMO_USERS]])]));
    const gate = await startIamGate({
      host,
      upstream: { host: target.host, port: target.port },
      authenticate: createRdsIamCheck({ sts, region: SANDBOX_REGION, connectPolicy, ...(opts.gateNow ? { now: opts.gateNow } : {}) }),
      ...(opts.gateLog ? { log: opts.gateLog } : {}),
    });
    closers.push(() => gate.close());
    const cache = await openDemoCache(opts, host, sts);
    if (cache) closers.push(() => cache.close());

    let mysql: MysqlDemo | undefined;
    let mysqlProblem: string | undefined;
    if (opts.mysql !== false) {
      try {
        mysql = await startMysqlDemo({ host, server: opts.mysql ?? DEFAULT_MYSQL_SERVER, sts, region: SANDBOX_REGION, levelRoles: LEVEL_ROLES, ...(opts.gateNow ? { now: opts.gateNow } : {}), ...(opts.gateLog ? { log: opts.gateLog } : {}) });
        const demo = mysql;
        closers.push(() => demo.close());
      } catch (err) {
        // The PostgreSQL demo works without it; the instructions say why there is no MySQL one.
        mysqlProblem = `no MySQL demo: ${(err as Error).message}`;
      }
    }

    // The sandbox starts clean every time: its store is a demo, not a record.
    rmSync(dataDir, { recursive: true, force: true });
    const config = parseConfig({
      listen: { host, port: opts.port ?? 8080 },
      logLevel: opts.logLevel ?? 'warn',
      // A demo on a local folder, chosen explicitly: `dab serve` never falls back to it.
      store: { embedded: true, dataDir },
      auth: {
        issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl }],
        admins: [{ issuer: issuer.issuer, subject: SANDBOX_PRINCIPALS.dba }],
        auditors: [{ issuer: issuer.issuer, subject: SANDBOX_PRINCIPALS.auditor }],
        // AWS IAM callers, verified against the emulator (the only STS the sandbox trusts).
        aws: { serverId: SANDBOX_AWS_SERVER_ID, endpoint: sts.url },
      },
      sts: { region: SANDBOX_REGION, endpoint: sts.url },
      audit: { fingerprintKey: randomBytes(32).toString('hex') },
      // The web console signs people in at the sandbox issuer, as a public client with PKCE.
      console: { enabled: true, oidc: { issuer: issuer.issuer, clientId: SANDBOX_CONSOLE_CLIENT, scopes: ['openid'] } },
    });
    const server = await startServer(config, { credentials: sts.baseCredentials });
    closers.push(() => server.close());
    // Only now is dab's address known (port 0 picks one): the console's redirect URI is registered with it.
    issuer.enableLogin({ clients: [{ clientId: SANDBOX_CONSOLE_CLIENT, redirectUris: [consoleUrl(server.url)] }], principals: SANDBOX_LOGIN_PRINCIPALS, tokenTtlSeconds: 3600 });

    const sign = (sub: string) => issuer.sign({ sub, groups: [] }, { expiresIn: '12h' });
    const tokens = { app: await sign(SANDBOX_PRINCIPALS.app), dba: await sign(SANDBOX_PRINCIPALS.dba), auditor: await sign(SANDBOX_PRINCIPALS.auditor) };
    await seedDab(server.url, tokens.dba, gate, target.dbname, issuer.issuer, mysql);
    if (cache) {
      await postAsDba(server.url, tokens.dba, '/v1/databases', demoCacheRegistration(cache.gate, SANDBOX_REGION, LEVEL_ROLES, SANDBOX_EXTERNAL_ID));
      await postAsDba(server.url, tokens.dba, '/v1/mappings', { principal: { issuer: issuer.issuer, subject: SANDBOX_PRINCIPALS.app }, database: DEMO_CACHE.name, levels: ['ro', 'rw'], description: 'The sandbox demo application' });
    }
    return { dabUrl: server.url, server, issuer, sts, gate, target, ...(mysql ? { mysql } : {}), ...(mysqlProblem ? { mysqlProblem } : {}), ...(cache ? { cache } : {}), tokens, ec2App, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The demo cache when there is a Redis to put behind it (given, or a redis-server to start). */
async function openDemoCache(opts: SandboxOptions, host: string, sts: StsEmulator): Promise<Sandbox['cache']> {
  if (!opts.redisUrl && !(await findRedisServer())) return undefined;
  const cache = await startDemoCache({
    host,
    sts,
    region: SANDBOX_REGION,
    roles: LEVEL_ROLES,
    ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
    ...(opts.gateNow ? { now: opts.gateNow } : {}),
    ...(opts.cacheLog ? { log: opts.cacheLog } : {}),
  });
  const caFile = path.resolve(opts.cacheCaFile ?? '.dab-sandbox/demo-cache-ca.pem');
  mkdirSync(path.dirname(caFile), { recursive: true });
  writeFileSync(caFile, cache.gate.certificatePem);
  return { ...cache, caFile };
}

async function postAsDba(dabUrl: string, dbaToken: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(new URL(path, dabUrl), { method: 'POST', headers: { authorization: `Bearer ${dbaToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`sandbox seeding: POST ${path} answered ${res.status} ${await res.text()}`);
}

/** The demo app may request rw on the demo database for up to an hour; the demo DBA approves. */
export function sandboxRequestPolicy(issuer: string) {
  return {
    name: 'demo-rw-on-request',
    requesters: [{ issuer, subject: SANDBOX_PRINCIPALS.app }],
    database: SANDBOX_DATABASE,
    levels: ['rw'],
    approvers: [{ issuer, subject: SANDBOX_PRINCIPALS.dba }],
    maxDurationSeconds: 3600,
    pendingTimeoutSeconds: 3600,
    breakGlass: { maxDurationSeconds: 900 },
    description: 'Just-in-time rw for the demo app',
  };
}

/** Registers the demo database, maps the demo app to ro and monitor, lets it request rw, through dab's own API. */
async function seedDab(dabUrl: string, dbaToken: string, gate: IamGate, dbname: string, issuer: string, mysql?: MysqlDemo): Promise<void> {
  const post = (path: string, body: unknown) => postAsDba(dabUrl, dbaToken, path, body);
  await post('/v1/databases', {
    name: SANDBOX_DATABASE,
    host: gate.host,
    port: gate.port,
    region: SANDBOX_REGION,
    dbname,
    roleArn: LEVEL_ROLES.ro,
    externalId: SANDBOX_EXTERNAL_ID,
    sslmode: 'require',
    description: 'Sandbox demo database (schema pgdemo) behind the local RDS-like IAM gate',
    levels: {
      ro: { dbUser: DEMO_USERS.ro, roleArn: LEVEL_ROLES.ro },
      rw: { dbUser: DEMO_USERS.rw, roleArn: LEVEL_ROLES.rw },
      monitor: { dbUser: DEMO_USERS.monitor, roleArn: LEVEL_ROLES.monitor },
    },
  });
  // Standing ro and monitor; rw only through a just-in-time request the demo DBA approves.
  await post('/v1/mappings', {
    principal: { issuer, subject: SANDBOX_PRINCIPALS.app },
    database: SANDBOX_DATABASE,
    levels: ['ro', 'monitor'],
    description: 'The sandbox demo application (rw: dab request, approved by the demo DBA)',
  });
  await post('/v1/admin/apply', { document: { requestPolicies: [sandboxRequestPolicy(issuer)] } });
  await post('/v1/mappings', {
    name: 'demo-ec2-app-ro',
    principal: { aws: SANDBOX_EC2_APP.roleArn },
    database: SANDBOX_DATABASE,
    levels: ['ro'],
    description: 'The EC2 app of account 222222222222 (an AWS role, no IdP): read-only',
  });
  if (!mysql) return;
  await post('/v1/databases', {
    name: SANDBOX_MYSQL_DATABASE,
    engine: 'mysql',
    host: mysql.gate.host,
    port: mysql.gate.port,
    region: SANDBOX_REGION,
    dbname: mysql.dbname,
    roleArn: LEVEL_ROLES.ro,
    externalId: SANDBOX_EXTERNAL_ID,
    sslmode: 'require',
    description: 'Sandbox MySQL/MariaDB demo database behind the local MySQL IAM gate',
    levels: {
      ro: { dbUser: mysql.users.ro, roleArn: LEVEL_ROLES.ro },
      rw: { dbUser: mysql.users.rw, roleArn: LEVEL_ROLES.rw },
      monitor: { dbUser: mysql.users.monitor, roleArn: LEVEL_ROLES.monitor },
    },
  });
  await post('/v1/mappings', {
    principal: { issuer, subject: SANDBOX_PRINCIPALS.app },
    database: SANDBOX_MYSQL_DATABASE,
    levels: ['ro', 'rw', 'monitor'],
    description: 'The sandbox demo application, on the MySQL demo',
  });
}
