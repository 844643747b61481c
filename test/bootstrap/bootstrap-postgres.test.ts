// The generated SQL on a real PostgreSQL (the machine's server, trust auth, in a fresh database),
// run twice; then each level's token logs in through the RDS-like IAM gate, whose IAM side is the
// permission policy dab generated, with exactly the privileges the SQL gave it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { createRdsIamCheck } from '../../src/sandbox/rds-iam-check.js';
import { startIamGate } from '../../src/sandbox/iam-gate.js';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import { ACCOUNT, ROLE_RO, ROLE_RW, startHarness } from '../support/harness.js';

const SERVER = process.env.DAB_TEST_PG_SERVER ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const unavailable = await runSqlOnce(SERVER, 'SELECT 1').then(() => false, (err: Error) => `no PostgreSQL server at ${SERVER} (${err.message}): start one or set DAB_TEST_PG_SERVER`);

const suffix = randomBytes(4).toString('hex');
const dbname = `dab_bootstrap_${suffix}`;
const USERS = { ro: `bt_${suffix}_ro_user`, rw: `bt_${suffix}_rw`, monitor: `bt_${suffix}_mon` };
const GROUPS = { ro: `bt_${suffix}_ro_role`, rw: `bt_${suffix}_rw_role`, monitor: `bt_${suffix}_mon_role` };
const HOSTILE = `we"ird sch'ema; --`;
const RESOURCE_ID = 'db-BOOTSTRAPTEST0123';
const url = urlForDatabase(SERVER, dbname);

t.test('bootstrap SQL and the preflight check against a real PostgreSQL', { skip: unavailable }, async (t) => {
  // rds_iam is RDS's; plain PostgreSQL needs it created (shared by every test: never dropped).
  await runSqlOnce(SERVER, "DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
  await runSqlOnce(SERVER, `CREATE DATABASE ${dbname}`);
  t.teardown(async () => {
    await runSqlOnce(SERVER, `DROP DATABASE IF EXISTS ${dbname} WITH (FORCE)`);
    // Roles are cluster-wide: drop the ones this file created.
    for (const role of [...Object.values(USERS), ...Object.values(GROUPS)]) await runSqlOnce(SERVER, `DROP ROLE IF EXISTS ${role}`);
  });
  const su = new pg.Client({ connectionString: url });
  await su.connect();
  t.teardown(() => su.end());
  await su.query(`CREATE SCHEMA app; CREATE SCHEMA "we""ird sch'ema; --";
    CREATE TABLE public.items (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE app.orders (id serial PRIMARY KEY, qty integer NOT NULL);
    CREATE TABLE "we""ird sch'ema; --".t (x integer);
    INSERT INTO public.items (name) VALUES ('teapot'), ('mug');`);

  const connectPolicy = new Map<string, Set<string>>();
  const h = await startHarness(t);
  const gate = await startIamGate({ upstream: { host: '127.0.0.1', port: 5432 }, authenticate: createRdsIamCheck({ sts: h.sts, region: 'us-east-1', connectPolicy }) });
  t.teardown(() => gate.close());
  const levels = { ro: { dbUser: USERS.ro, roleArn: ROLE_RO }, rw: { dbUser: USERS.rw, roleArn: ROLE_RW }, monitor: { dbUser: USERS.monitor } };
  await h.registerOrders({ name: 'pgboot', host: '127.0.0.1', port: gate.port, dbname, sslmode: 'require', resourceId: RESOURCE_ID, levels });
  const admin = { authorization: `Bearer ${await h.adminToken()}` };
  const query = ['public', 'app', HOSTILE].map((s) => `schema=${encodeURIComponent(s)}`).join('&');
  const artifacts = (await h.app.inject({ method: 'GET', url: `/v1/databases/pgboot/bootstrap?${query}`, headers: admin })).json();

  const has = async (sql: string, params: unknown[]) => (await su.query(sql, params)).rows[0]?.ok as boolean;
  const table = (user: string, name: string, privilege: string) => has('SELECT has_table_privilege($1, $2, $3) AS ok', [user, name, privilege]);
  const role = (user: string, target: string, mode = 'USAGE') => has('SELECT pg_has_role($1, $2, $3) AS ok', [user, target, mode]);

  t.test('the SQL runs twice (idempotent) and grants what each level needs, no more', async (t) => {
    await runSqlOnce(url, artifacts.sql);
    await runSqlOnce(url, artifacts.sql);
    const { rows } = await su.query('SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE $1 ORDER BY rolname', [`bt\\_${suffix}\\_%`]);
    t.same(rows.map((r) => [r.rolname, r.rolcanlogin]).sort(), [
      [GROUPS.monitor, false], [USERS.monitor, true], [USERS.ro, true], [GROUPS.ro, false], [GROUPS.rw, false], [USERS.rw, true],
    ].sort(), 'three NOLOGIN group roles, three login users');
    for (const user of Object.values(USERS)) t.ok(await role(user, 'rds_iam', 'MEMBER'), `${user} has rds_iam`);

    t.ok(await table(USERS.ro, 'public.items', 'SELECT'));
    t.ok(await table(USERS.ro, 'app.orders', 'SELECT'));
    t.notOk(await table(USERS.ro, 'public.items', 'INSERT'), 'ro cannot write');
    for (const p of ['SELECT', 'INSERT', 'UPDATE', 'DELETE']) t.ok(await table(USERS.rw, 'app.orders', p), `rw may ${p}`);
    t.notOk(await table(USERS.rw, 'app.orders', 'TRUNCATE'), 'rw cannot TRUNCATE');
    t.ok(await has("SELECT has_sequence_privilege($1, 'app.orders_id_seq', 'USAGE') AS ok", [USERS.rw]), 'rw can use sequences (serial inserts)');
    t.notOk(await table(USERS.monitor, 'public.items', 'SELECT'), 'monitor reads no tables');
    t.ok(await role(USERS.monitor, 'pg_monitor'), 'monitor holds pg_monitor');
    t.notOk(await role(USERS.ro, 'pg_monitor'));
    t.ok(await table(USERS.ro, `${JSON.stringify(HOSTILE).replace(/\\"/g, '""')}.t`, 'SELECT'), 'the hostile schema name was quoted, not executed');

    await su.query('CREATE TABLE app.later (id serial PRIMARY KEY)');
    t.ok(await table(USERS.ro, 'app.later', 'SELECT'), 'default privileges: tables created later are readable');
    t.ok(await table(USERS.rw, 'app.later', 'INSERT'), 'and writable for rw');
  });

  // The gate's IAM side is exactly the permission policies dab generated.
  for (const r of artifacts.roles as Array<{ roleArn: string; permissionPolicy: { Statement: Array<{ Resource: string[] }> } }>) {
    const prefix = `arn:aws:rds-db:us-east-1:${ACCOUNT}:dbuser:${RESOURCE_ID}/`;
    const users = r.permissionPolicy.Statement[0]!.Resource.map((arn) => (arn.startsWith(prefix) ? arn.slice(prefix.length) : `not-${arn}`));
    connectPolicy.set(r.roleArn, new Set(users));
  }

  t.test('the preflight check logs in as every level', async (t) => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/databases/pgboot/check', headers: admin, payload: {} });
    const body = res.json();
    t.equal(body.ok, true, res.body);
    for (const level of body.levels) t.same(level.steps.map((s: { status: string }) => s.status), ['ok', 'ok', 'ok'], level.level);
    t.match(body.levels[2].steps[2].message, new RegExp(`as ${USERS.monitor}, which holds pg_monitor$`));
  });

  t.test('a token for each level logs in through the gate with its privileges', async (t) => {
    await h.map('app-boot', 'pgboot', ['ro', 'rw', 'monitor']);
    const bearer = await h.token('app-boot');
    const login = async (access: string) => {
      const grant = (await h.grant(bearer, { database: 'pgboot', access, reason: 'bootstrap test' })).json();
      const client = new pg.Client({ host: grant.host, port: grant.port, user: grant.user, password: grant.token, database: grant.dbname, ssl: { rejectUnauthorized: false } });
      client.on('error', () => undefined);
      await client.connect();
      t.teardown(() => client.end().catch(() => undefined));
      return client;
    };
    const ro = await login('ro');
    t.equal((await ro.query('SELECT count(*)::int AS n FROM public.items')).rows[0].n, 2);
    await t.rejects(ro.query("INSERT INTO public.items (name) VALUES ('nope')"), /permission denied/);
    const rw = await login('rw');
    await rw.query('INSERT INTO app.orders (qty) VALUES (3)');
    t.equal((await rw.query('SELECT sum(qty)::int AS n FROM app.orders')).rows[0].n, 3);
    const monitor = await login('monitor');
    t.equal((await monitor.query("SELECT pg_has_role('pg_monitor', 'USAGE') AS ok")).rows[0].ok, true);
    await t.rejects(monitor.query('SELECT * FROM public.items'), /permission denied/);
  });

  t.test('a role whose policy does not allow the DB user: the check says what to fix', async (t) => {
    // rw's role may connect only as the rw user; a level pointing it at the ro user is refused like RDS refuses.
    await h.registerOrders({ name: 'pgdenied', host: '127.0.0.1', port: gate.port, dbname, sslmode: 'require', resourceId: RESOURCE_ID, levels: { ro: { dbUser: USERS.ro, roleArn: ROLE_RW } } });
    const res = await h.app.inject({ method: 'POST', url: '/v1/databases/pgdenied/check', headers: admin, payload: { login: true } });
    const body = res.json();
    t.equal(body.ok, false);
    t.same(body.levels[0].steps.map((s: { status: string }) => s.status), ['ok', 'ok', 'failed']);
    t.match(body.levels[0].steps[2].message, `the login was refused (PAM authentication failed for user "${USERS.ro}"): check that ${USERS.ro} exists and was granted rds_iam (run the bootstrap SQL), and that ${ROLE_RW} allows rds-db:connect on arn:aws:rds-db:us-east-1:${ACCOUNT}:dbuser:${RESOURCE_ID}/${USERS.ro}`);
    t.notOk(res.body.includes('X-Amz-Signature'), 'the token is not in the answer');
  });
});
