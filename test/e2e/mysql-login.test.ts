import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signer } from '@aws-sdk/rds-signer';
import mysql from 'mysql2/promise';
import t, { type Test } from 'tap';
import { requestCredentials, type Credentials } from '../../src/client/dab-client.js';
import { dabMysqlConfig } from '../../src/client/mysql-password.js';
import type { GateLogEvent } from '../../src/sandbox/iam-gate.js';
import { SANDBOX_MYSQL_DATABASE, startSandbox } from '../../src/sandbox/sandbox.js';
import { parseRdsAuthToken } from '../../src/sandbox/sigv4.js';

// The MySQL chain as an application meets it: dab mints an rds-db token, mysql2 logs in through
// the MySQL IAM gate (TLS, cleartext plugin) to the real MariaDB, and the level's grants decide.

const dataDir = mkdtempSync(join(tmpdir(), 'dab-e2e-mysql-'));
let gateOffsetMs = 0;
const gateEvents: GateLogEvent[] = [];
const sandbox = await startSandbox({ port: 0, dataDir, logLevel: 'silent', gateNow: () => new Date(Date.now() + gateOffsetMs), gateLog: (e) => gateEvents.push(e) });
t.teardown(async () => {
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});
t.ok(sandbox.mysql, sandbox.mysqlProblem ?? 'the MySQL demo is up');
const demo = sandbox.mysql!;

const creds = (access: 'ro' | 'rw' | 'monitor') =>
  requestCredentials({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: SANDBOX_MYSQL_DATABASE, access, reason: 'e2e' });

async function connect(c: Credentials, overrides: Partial<mysql.ConnectionOptions> = {}): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({
    host: c.host, port: c.port, user: c.user, password: c.token, database: c.dbname, ssl: { rejectUnauthorized: false }, enableCleartextPlugin: true, ...overrides,
  });
  t.teardown(() => connection.end().catch(() => undefined));
  return connection;
}

async function refused(t: Test, c: Credentials, overrides: Partial<mysql.ConnectionOptions>, expected: RegExp, reason?: string) {
  const before = gateEvents.length;
  await t.rejects(connect(c, overrides), expected);
  if (reason) t.ok(gateEvents.slice(before).some((e) => e.event === 'authentication_failed' && e.reason === reason), `gate reason ${reason}`);
}

t.test('the grant is a MySQL one: engine, dbname, sslmode, a token for the gate', async (t) => {
  const ro = await creds('ro');
  t.match(ro, { engine: 'mysql', user: demo.users.ro, host: demo.gate.host, port: demo.gate.port, dbname: demo.dbname, sslmode: 'require' });
  t.match(parseRdsAuthToken(ro.token), { host: demo.gate.host, port: demo.gate.port, user: demo.users.ro, service: 'rds-db', expiresSeconds: 900 });
  const res = await fetch(new URL(`/v1/audit/events?database=${SANDBOX_MYSQL_DATABASE}&eventType=credential.issued`, sandbox.dabUrl), { headers: { authorization: `Bearer ${sandbox.tokens.auditor}` } });
  const { items } = (await res.json()) as { items: Array<{ engine: string | null; eventId: string }> };
  t.ok(items.some((e) => e.eventId === ro.grantId && e.engine === 'mysql'), 'the audit row records the engine');
});

t.test('ro can SELECT but not INSERT; rw can write', async (t) => {
  const ro = await connect(await creds('ro'));
  const [who] = (await ro.query('SELECT CURRENT_USER() AS u')) as unknown as [Array<{ u: string }>];
  t.equal(who[0]?.u, `${demo.users.ro}@%`);
  const [rows] = (await ro.query('SELECT count(*) AS n FROM products')) as unknown as [Array<{ n: number }>];
  t.equal(Number(rows[0]?.n), 3);
  await t.rejects(ro.query("INSERT INTO products (name, price_cents) VALUES ('ro-write', 1)"), /INSERT command denied/);

  const rw = await connect(await creds('rw'));
  await rw.query('INSERT INTO orders (product_id, quantity) VALUES (1, 7)');
  const [written] = (await rw.query('SELECT count(*) AS n FROM orders WHERE quantity = 7')) as unknown as [Array<{ n: number }>];
  t.equal(Number(written[0]?.n), 1);

  const monitor = await connect(await creds('monitor'), { database: undefined });
  const [list] = (await monitor.query('SHOW PROCESSLIST')) as unknown as [Array<{ User: string }>];
  t.ok(list.some((p) => p.User === demo.users.ro), 'PROCESS: monitor sees the ro session');
});

t.test('the gate refuses what RDS would refuse', async (t) => {
  const ro = await creds('ro');
  const denied = new RegExp(`Access denied for user '${demo.users.ro}'`);
  const sig = /X-Amz-Signature=([0-9a-f]+)/.exec(ro.token)?.[1] as string;
  await refused(t, ro, { password: ro.token.replace(sig, `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`) }, denied, 'signature_mismatch');
  await refused(t, ro, { user: demo.users.rw }, new RegExp(`Access denied for user '${demo.users.rw}'`), 'wrong_user');
  await refused(t, ro, { ssl: undefined }, denied, 'tls_required');

  // The ro role's session cannot make a token for the rw user: the role's policy says no.
  const session = sandbox.sts.findSession(parseRdsAuthToken(ro.token)!.accessKeyId)!;
  const forged = await new Signer({ hostname: ro.host, port: ro.port, username: demo.users.rw, region: ro.region, credentials: session }).getAuthToken();
  await refused(t, { ...ro, user: demo.users.rw, token: forged }, {}, /Access denied/, 'rds_db_connect_not_allowed');

  const stranger = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const unknown = await new Signer({ hostname: ro.host, port: ro.port, username: ro.user, region: ro.region, credentials: stranger }).getAuthToken();
  await refused(t, ro, { password: unknown }, denied, 'unknown_access_key');

  gateOffsetMs = 16 * 60_000;
  await refused(t, ro, {}, denied, 'expired');
  gateOffsetMs = 0;
  t.ok(await connect(ro), 'the same token still opens a session while it is valid');
});

t.test('a mysql2 pool using the dab helper keeps working across a token refresh', async (t) => {
  let clock = Date.now();
  const config = await dabMysqlConfig({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: SANDBOX_MYSQL_DATABASE, access: 'ro', now: () => clock });
  t.match(config, { enableCleartextPlugin: true, user: demo.users.ro, database: demo.dbname });
  const pool = mysql.createPool({ ...config, connectionLimit: 2 });
  t.teardown(() => pool.end());
  const used = await pool.getConnection();
  const [rows] = (await used.query('SELECT CURRENT_USER() AS u')) as unknown as [Array<{ u: string }>];
  t.equal(rows[0]?.u, `${demo.users.ro}@%`);
  const first = config.current()?.grantId;
  used.destroy(); // the pool's next connection is a new login
  clock += 15 * 60_000; // the cached token is now past its refresh point
  const fresh = await pool.getConnection();
  t.equal(Number(((await fresh.query('SELECT 1 AS one')) as unknown as [Array<{ one: number }>])[0][0]?.one), 1, 'a new connection after the refresh logs in');
  fresh.release();
  t.not(config.current()?.grantId, first, 'a new grant was fetched');
  await t.rejects(dabMysqlConfig({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: 'demo', access: 'ro' }), /engine postgres, not mysql/);
});

t.test('preflight logs in per level through the gate and proves each level', async (t) => {
  const dba = { authorization: `Bearer ${sandbox.tokens.dba}`, 'content-type': 'application/json' };
  const check = async (name: string) => (await fetch(new URL(`/v1/databases/${name}/check`, sandbox.dabUrl), { method: 'POST', headers: dba, body: '{}' })).json() as Promise<{ ok: boolean; levels: Array<{ level: string; steps: Array<{ step: string; status: string; message: string }> }> }>;
  const good = await check(SANDBOX_MYSQL_DATABASE);
  t.equal(good.ok, true, JSON.stringify(good));
  for (const l of good.levels) t.match(l.steps.find((s) => s.step === 'login'), { status: 'ok', message: new RegExp(`whose grants fit ${l.level}`) });

  // ro registered as the rw user (its role may connect as it): the login works, the level does not fit.
  const demoDb = (await (await fetch(new URL(`/v1/databases/${SANDBOX_MYSQL_DATABASE}`, sandbox.dabUrl), { headers: dba })).json()) as Record<string, unknown>;
  const { version: _v, createdAt: _c, updatedAt: _u, levels: _l, ...rest } = demoDb;
  const roleOf = (demoDb.levels as Record<string, { roleArn: string }>).rw!.roleArn;
  const body = { ...rest, name: 'mysql-misfit', levels: { ro: { dbUser: demo.users.rw, roleArn: roleOf } } };
  t.equal((await fetch(new URL('/v1/databases', sandbox.dabUrl), { method: 'POST', headers: dba, body: JSON.stringify(body) })).status, 201);
  const bad = await check('mysql-misfit');
  t.equal(bad.ok, false);
  t.match(bad.levels[0]?.steps.find((s) => s.step === 'login'), { status: 'failed', message: /may write .*which ro must not/ });
});
