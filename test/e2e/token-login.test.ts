import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signer } from '@aws-sdk/rds-signer';
import pg from 'pg';
import t, { type Test } from 'tap';
import { requestCredentials, type Credentials } from '../../src/client/dab-client.js';
import { dabPgConfig } from '../../src/client/pg-password.js';
import type { GateLogEvent } from '../../src/sandbox/iam-gate.js';
import { SANDBOX_DATABASE, startSandbox } from '../../src/sandbox/sandbox.js';
import { parseRdsAuthToken } from '../../src/sandbox/sigv4.js';

// The whole chain as a user meets it: dab mints, a real pg client logs in through the RDS-like
// IAM gate to a real PostgreSQL, and the DBA's privileges decide what the session may do.

const dataDir = mkdtempSync(join(tmpdir(), 'dab-e2e-'));
let gateOffsetMs = 0;
const gateEvents: GateLogEvent[] = [];
const sandbox = await startSandbox({ port: 0, dataDir, logLevel: 'silent', gateNow: () => new Date(Date.now() + gateOffsetMs), gateLog: (e) => gateEvents.push(e) });
t.teardown(async () => {
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const creds = (access: 'ro' | 'rw' | 'monitor', database = SANDBOX_DATABASE) =>
  requestCredentials({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database, access, reason: 'e2e' });

async function connect(c: Credentials, overrides: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.token, database: c.dbname, ssl: { rejectUnauthorized: false }, ...overrides });
  await client.connect();
  t.teardown(() => client.end().catch(() => undefined));
  return client;
}

/** The login must fail the way RDS fails it, and the gate must say why (never to the client). */
async function refused(t: Test, c: Credentials, overrides: Partial<pg.ClientConfig>, expected: RegExp, reason?: string) {
  const before = gateEvents.length;
  await t.rejects(connect(c, overrides), expected);
  if (reason) t.ok(gateEvents.slice(before).some((e) => e.event === 'auth_failed' && e.reason === reason), `gate reason ${reason}`);
}

t.test('ro reads but cannot write; rw writes; monitor sees other sessions', async (t) => {
  const ro = await connect(await creds('ro'));
  t.equal((await ro.query('SELECT current_user')).rows[0].current_user, 'oltp_ro_user');
  t.equal((await ro.query('SELECT count(*)::int AS n FROM pgdemo.products')).rows[0].n, 3);
  await t.rejects(ro.query("INSERT INTO pgdemo.products (name, price_cents) VALUES ('ro-write', 1)"), /permission denied/);

  // rw is not standing in the sandbox: the demo app requests it, the demo DBA approves (issue 16).
  await t.rejects(creds('rw'), /not granted/, 'no rw before a request is approved');
  const call = async (token: string, path: string, body: unknown) => {
    const res = await fetch(new URL(path, sandbox.dabUrl), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.ok(res.ok, `POST ${path} answered ${res.status}`);
    return (await res.json()) as { id: string; version: number; state: string };
  };
  const request = await call(sandbox.tokens.app, '/v1/access-requests', { database: SANDBOX_DATABASE, access: 'rw', reason: 'e2e write', durationSeconds: 300 });
  t.equal((await call(sandbox.tokens.dba, `/v1/access-requests/${request.id}/approve`, { version: request.version })).state, 'active');
  const rw = await connect(await creds('rw'));
  await rw.query("INSERT INTO pgdemo.orders (product_id, quantity) VALUES (1, 7)");
  t.equal((await rw.query('SELECT count(*)::int AS n FROM pgdemo.orders WHERE quantity = 7')).rows[0].n, 1);

  await ro.query("SELECT 'visible-to-monitor' AS marker");
  const monitor = await connect(await creds('monitor'));
  const { rows } = await monitor.query("SELECT query FROM pg_stat_activity WHERE usename = 'oltp_ro_user'");
  t.ok(rows.some((r) => String(r.query).includes('visible-to-monitor')), 'pg_monitor sees the text of other users\' queries');
  t.ok(gateEvents.some((e) => e.event === 'authorized' && e.user === 'pgmonitor'));
});

t.test('the gate refuses what RDS would refuse', async (t) => {
  const ro = await creds('ro');
  const pam = /PAM authentication failed for user "oltp_ro_user"/;

  const sig = /X-Amz-Signature=([0-9a-f]+)/.exec(ro.token)?.[1] as string;
  const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
  await refused(t, ro, { password: ro.token.replace(sig, flipped) }, pam, 'signature_mismatch');

  await refused(t, ro, { user: 'oltp_rw_user' }, /PAM authentication failed for user "oltp_rw_user"/, 'wrong_user');
  await refused(t, ro, { ssl: false }, /no pg_hba.conf entry .* no encryption/);

  // Holding the ro role's session cannot make a token for the rw user: the role's policy says no.
  const session = sandbox.sts.findSession(parseRdsAuthToken(ro.token)!.accessKeyId)!;
  const forged = await new Signer({ hostname: ro.host, port: ro.port, username: 'oltp_rw_user', region: ro.region, credentials: session }).getAuthToken();
  await refused(t, { ...ro, user: 'oltp_rw_user', token: forged }, {}, /PAM authentication failed/, 'rds_db_connect_not_allowed');

  const stranger = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const unknown = await new Signer({ hostname: ro.host, port: ro.port, username: ro.user, region: ro.region, credentials: stranger }).getAuthToken();
  await refused(t, ro, { password: unknown }, pam, 'unknown_access_key');

  gateOffsetMs = 16 * 60_000;
  await refused(t, ro, {}, pam, 'expired');
  gateOffsetMs = 0;
});

t.test('a token minted for another database host:port does not open this one', async (t) => {
  const dba = { authorization: `Bearer ${sandbox.tokens.dba}`, 'content-type': 'application/json' };
  const demo = (await (await fetch(new URL(`/v1/databases/${SANDBOX_DATABASE}`, sandbox.dabUrl), { headers: dba })).json()) as Record<string, unknown>;
  const { name: _n, version: _v, createdAt: _c, updatedAt: _u, ...rest } = demo;
  const other = { ...rest, name: 'other', host: 'localhost' };
  t.equal((await fetch(new URL('/v1/databases', sandbox.dabUrl), { method: 'POST', headers: dba, body: JSON.stringify(other) })).status, 201);
  const principal = { issuer: sandbox.issuer.issuer, subject: 'demo-app' };
  t.equal((await fetch(new URL('/v1/mappings', sandbox.dabUrl), { method: 'POST', headers: dba, body: JSON.stringify({ principal, database: 'other', levels: ['ro'] }) })).status, 201);
  const forOther = await creds('ro', 'other');
  await refused(t, forOther, { host: '127.0.0.1' }, /PAM authentication failed/, 'wrong_host');
});

t.test('a pg.Pool using the dab password helper keeps working across a token refresh', async (t) => {
  let clock = Date.now();
  const config = await dabPgConfig({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: SANDBOX_DATABASE, access: 'ro', now: () => clock });
  const pool = new pg.Pool({ ...config, max: 2, idleTimeoutMillis: 50 });
  t.teardown(() => pool.end());
  t.equal((await pool.query('SELECT current_user AS u')).rows[0].u, 'oltp_ro_user');
  const first = config.password.current()?.grantId;
  await new Promise((resolve) => setTimeout(resolve, 200)); // idle connections close
  clock += 15 * 60_000; // the cached token is now past its refresh point
  t.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1, 'a new connection after refresh logs in');
  t.not(config.password.current()?.grantId, first, 'a new grant was fetched');
});
