import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { parseConfig } from '../config/load-config.js';
import { startServer, type RunningServer } from '../server.js';
import { DEMO_USERS, openTargetDatabase, seedDemoDatabase, type TargetDatabase } from './demo-database.js';
import { startIamGate, type GateLogEvent, type IamGate } from './iam-gate.js';
import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.js';
import { DEFAULT_MYSQL_SERVER, startMysqlDemo, type MysqlDemo, type MysqlServer } from './mysql/demo-mysql.js';
import { createRdsIamCheck } from './rds-iam-check.js';
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
  /** The MySQL demo, when its server was reachable (else why not, in mysqlProblem). */
  mysql?: MysqlDemo;
  mysqlProblem?: string;
  tokens: Record<keyof typeof SANDBOX_PRINCIPALS, string>;
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
    const sts = await startStsEmulator({ host, accountId: SANDBOX_ACCOUNT });
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
      },
      sts: { region: SANDBOX_REGION, endpoint: sts.url },
      audit: { fingerprintKey: randomBytes(32).toString('hex') },
    });
    const server = await startServer(config, { credentials: sts.baseCredentials });
    closers.push(() => server.close());

    const sign = (sub: string) => issuer.sign({ sub, groups: [] }, { expiresIn: '12h' });
    const tokens = { app: await sign(SANDBOX_PRINCIPALS.app), dba: await sign(SANDBOX_PRINCIPALS.dba), auditor: await sign(SANDBOX_PRINCIPALS.auditor) };
    await seedDab(server.url, tokens.dba, gate, target.dbname, issuer.issuer, mysql);
    return { dabUrl: server.url, server, issuer, sts, gate, target, ...(mysql ? { mysql } : {}), ...(mysqlProblem ? { mysqlProblem } : {}), tokens, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Registers the demo database and maps the demo app to every level, through dab's own API. */
async function seedDab(dabUrl: string, dbaToken: string, gate: IamGate, dbname: string, issuer: string, mysql?: MysqlDemo): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(new URL(path, dabUrl), { method: 'POST', headers: { authorization: `Bearer ${dbaToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`sandbox seeding: POST ${path} answered ${res.status} ${await res.text()}`);
  };
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
  await post('/v1/mappings', {
    principal: { issuer, subject: SANDBOX_PRINCIPALS.app },
    database: SANDBOX_DATABASE,
    levels: ['ro', 'rw', 'monitor'],
    description: 'The sandbox demo application',
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
