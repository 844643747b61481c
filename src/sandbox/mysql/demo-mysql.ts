import { randomBytes } from 'node:crypto';
import type { GateLogEvent } from '../iam-gate.js';
import { createRdsIamCheck } from '../rds-iam-check.js';
import type { StsEmulator } from '../sts-emulator.js';
import { startMysqlGate, type MysqlGate } from './mysql-gate.js';

// The sandbox's MySQL/MariaDB demo: a database and one user per level on a real MariaDB (root on
// loopback), created with passwords only the gate holds, and the MySQL gate in front. Names carry
// a random suffix and are dropped on close: the server is shared, the demo is not.

export interface MysqlServer {
  host: string;
  port: number;
  user: string;
  password: string;
}
export const DEFAULT_MYSQL_SERVER: MysqlServer = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

export interface MysqlDemo {
  dbname: string;
  users: { ro: string; rw: string; monitor: string };
  gate: MysqlGate;
  close(): Promise<void>;
}

export interface MysqlDemoOptions {
  host: string;
  server?: MysqlServer;
  sts: StsEmulator;
  region: string;
  /** Role per level, as the PostgreSQL demo has them: the gate allows each role only its level's user. */
  levelRoles: { ro: string; rw: string; monitor: string };
  now?: () => Date;
  log?: (event: GateLogEvent) => void;
}

const GRANTS = {
  ro: (db: string) => [`GRANT SELECT ON \`${db}\`.* TO ?@'%'`],
  rw: (db: string) => [`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.* TO ?@'%'`],
  monitor: () => [`GRANT PROCESS, REPLICATION CLIENT ON *.* TO ?@'%'`, `GRANT SELECT ON performance_schema.* TO ?@'%'`],
};

export async function startMysqlDemo(opts: MysqlDemoOptions): Promise<MysqlDemo> {
  const { default: mysql } = await import('mysql2/promise');
  const server = opts.server ?? DEFAULT_MYSQL_SERVER;
  const suffix = randomBytes(4).toString('hex');
  const dbname = `dab_demo_${suffix}`;
  const users = { ro: `demo_ro_${suffix}`, rw: `demo_rw_${suffix}`, monitor: `demo_mon_${suffix}` };
  const passwords = new Map(Object.values(users).map((u) => [u, randomBytes(18).toString('base64url')]));
  const admin = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, multipleStatements: false });
  const cleanup = async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${dbname}\``).catch(() => undefined);
    for (const u of Object.values(users)) await admin.query("DROP USER IF EXISTS ?@'%'", [u]).catch(() => undefined);
  };
  try {
    await admin.query(`CREATE DATABASE \`${dbname}\``);
    await admin.query(`CREATE TABLE \`${dbname}\`.products (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, price_cents int NOT NULL)`);
    await admin.query(`CREATE TABLE \`${dbname}\`.orders (id int AUTO_INCREMENT PRIMARY KEY, product_id int NOT NULL, quantity int NOT NULL)`);
    await admin.query(`INSERT INTO \`${dbname}\`.products (name, price_cents) VALUES ('widget', 250), ('gadget', 1200), ('gizmo', 799)`);
    for (const level of ['ro', 'rw', 'monitor'] as const) {
      const user = users[level];
      await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [user, passwords.get(user)]);
      for (const grant of GRANTS[level](dbname)) await admin.query(grant, [user]);
    }
    const connectPolicy = new Map((['ro', 'rw', 'monitor'] as const).map((level) => [opts.levelRoles[level], new Set([users[level]])]));
    const gate = await startMysqlGate({
      host: opts.host,
      upstream: { host: server.host, port: server.port },
      upstreamPassword: (user) => passwords.get(user),
      authenticate: createRdsIamCheck({ sts: opts.sts, region: opts.region, connectPolicy, ...(opts.now ? { now: opts.now } : {}) }),
      ...(opts.log ? { log: opts.log } : {}),
    });
    return {
      dbname,
      users,
      gate,
      async close() {
        await gate.close();
        await cleanup();
        await admin.end().catch(() => undefined);
      },
    };
  } catch (err) {
    await cleanup();
    await admin.end().catch(() => undefined);
    throw err;
  }
}
