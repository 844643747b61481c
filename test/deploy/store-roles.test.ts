// The production role split, end to end, under exactly the roles deploy/postgres/ creates: the
// shipped scripts run with psql as README tells an operator, `dab migrate` as dab_owner, and
// `dab serve` as dab_app doing everything serving does. Roles are cluster-global, so all of this
// happens on a throwaway cluster, never on the shared server.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startOidcIssuer } from '../../src/sandbox/oidc-issuer.js';
import { startStsEmulator } from '../../src/sandbox/sts-emulator.js';
import { startThrowawayPostgres } from '../../src/sandbox/throwaway-postgres.js';
import { startServer } from '../../src/server.js';
import { createPostgresStore } from '../../src/store/postgres-store.js';
import { REQUIRED_PRIVILEGES } from '../../src/store/required-privileges.js';
import { cli } from '../support/run-cli.js';

const ROOT = new URL('../../', import.meta.url);
const README = readFileSync(new URL('README.md', ROOT), 'utf8');
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-dab`;
const EXTERNAL_ID = 'ext-orders-7f3a9c';

const server = await startThrowawayPostgres();
t.teardown(() => server.stop());
const HOST = `${server.host}:${server.port}`;

/**
 * One command of README's "Deploying" section, word for word with <host> standing for the server:
 * the test fails if README stops saying it, then runs what it says.
 */
function readmeCommand(t: Test, command: string): string[] {
  t.ok(README.includes(command), `README tells the operator: ${command}`);
  // Split on spaces outside double quotes (the commands hold no escapes).
  return (command.replaceAll('<host>', HOST).match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, '$1'));
}

/** "A=1 B=2 dab migrate" → the environment and dab's arguments. */
function envAndArgs(words: string[]): { env: Record<string, string>; args: string[] } {
  const at = words.indexOf('dab');
  if (at < 0) throw new Error(`not a dab command: ${words.join(' ')}`);
  const env = Object.fromEntries(words.slice(0, at).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, args: words.slice(at + 1) };
}

async function runPsql(t: Test, command: string): Promise<void> {
  const [program, ...args] = readmeCommand(t, command);
  t.equal(program, 'psql');
  await promisify(execFile)('psql', ['-X', ...args], { cwd: new URL('.', ROOT).pathname, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
}

const ROLES_COMMAND = 'psql "postgres://postgres@<host>/postgres" -v ON_ERROR_STOP=1 -f deploy/postgres/dab-store-roles.sql';
const MIGRATE_COMMAND = 'DATABASE_URL=postgres://dab_owner@<host>/dab dab migrate';
const GRANTS_COMMAND = 'psql "postgres://dab_owner@<host>/dab" -v ON_ERROR_STOP=1 -f deploy/postgres/dab-store-grants.sql';
const SERVE_COMMAND = 'DATABASE_URL=postgres://dab_app@<host>/dab DAB_MIGRATE_ON_START=false dab serve';

async function asRole(user: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: server.url('dab', user) });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

async function refusal(client: pg.Client, sql: string): Promise<{ code?: string; message: string }> {
  try {
    await client.query(sql);
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error(`${sql}: expected a refusal, it succeeded`);
}

t.test('deploy scripts as shipped, migrate as dab_owner, serve as dab_app: the whole slice works', async (t) => {
  await runPsql(t, ROLES_COMMAND);

  const migrate = envAndArgs(readmeCommand(t, MIGRATE_COMMAND));
  t.same(Object.keys(migrate.env), ['DATABASE_URL'], 'dab migrate needs DATABASE_URL and nothing else');
  const migrated = await cli(migrate.args, migrate.env);
  t.equal(migrated.code, 0, `dab migrate as dab_owner with DATABASE_URL alone (${migrated.err})`);
  t.match(migrated.out, /applied \d+ migration\(s\)/);

  await runPsql(t, GRANTS_COMMAND);
  await runPsql(t, GRANTS_COMMAND); // after every migrate, so it must be idempotent

  await asRole('dab_app', async (c) => {
    const { rows } = await c.query<{ relname: string; kind: string; privilege_type: string }>(
      `SELECT c.relname, CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind, a.privilege_type
         FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
        WHERE a.grantee = 'dab_app'::regrole ORDER BY 1, 3`,
    );
    const granted = rows.map((r) => `${r.kind} ${r.relname} ${r.privilege_type}`).sort();
    const required = REQUIRED_PRIVILEGES.map((p) => `${p.kind} ${p.name} ${p.privilege}`).sort();
    t.same(granted, required, 'dab-store-grants.sql grants exactly the privileges src/store/required-privileges.ts lists');
    const owned = await c.query("SELECT count(*)::int AS n FROM pg_class WHERE relowner = 'dab_app'::regrole");
    t.equal(owned.rows[0].n, 0, 'dab_app owns nothing');
  });

  const issuer = await startOidcIssuer();
  const sts = await startStsEmulator({ accountId: ACCOUNT });
  sts.addRole({ arn: ROLE, externalId: EXTERNAL_ID });
  t.teardown(() => Promise.all([issuer.close(), sts.close()]));

  const serve = envAndArgs(readmeCommand(t, SERVE_COMMAND));
  t.same(serve.args, ['serve']);
  // `dab serve` is loadConfig + startServer (serveForever only adds signal handling).
  const config = loadConfig({
    ...serve.env,
    DAB_PORT: '0',
    DAB_LOG_LEVEL: 'silent',
    DAB_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl }]),
    DAB_ADMINS: JSON.stringify([{ issuer: issuer.issuer, subject: 'dba' }]),
    DAB_AUDITORS: JSON.stringify([{ issuer: issuer.issuer, subject: 'auditor' }]),
    AWS_ENDPOINT_URL_STS: sts.url,
    DAB_AUDIT_FINGERPRINT_KEY: randomBytes(32).toString('hex'),
    DAB_AUDIT_SEAL_INTERVAL_SECONDS: '0',
  });
  t.equal(new URL(config.store.url ?? '').username, 'dab_app');
  t.equal(config.store.migrateOnStart, false);
  const running = await startServer(config, { credentials: sts.baseCredentials });
  t.teardown(() => running.close());

  const call = async (method: string, path: string, subject: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = subject ? { authorization: `Bearer ${await issuer.sign({ sub: subject, groups: [] })}` } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(path, running.url), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as any };
  };

  const ready = await call('GET', '/readyz', undefined);
  t.same(ready, { status: 200, body: { status: 'ready' } }, '/readyz: ready, privileges and all');

  const db = await call('POST', '/v1/databases', 'dba', {
    name: 'orders',
    host: 'orders.cluster-abc123.us-east-1.rds.amazonaws.com',
    port: 5432,
    region: 'us-east-1',
    dbname: 'orders',
    roleArn: ROLE,
    externalId: EXTERNAL_ID,
    levels: { ro: { dbUser: 'orders_ro' } },
  });
  t.equal(db.status, 201, `register a database (${JSON.stringify(db.body)})`);
  const mapping = await call('POST', '/v1/mappings', 'dba', { principal: { issuer: issuer.issuer, subject: 'app-orders' }, database: 'orders', levels: ['ro'] });
  t.equal(mapping.status, 201, `add a mapping (${JSON.stringify(mapping.body)})`);

  const grant = await call('POST', '/v1/credentials', 'app-orders', { database: 'orders', access: 'ro' });
  t.equal(grant.status, 200, `get a grant (${JSON.stringify(grant.body)})`);
  t.match(grant.body, { token: /X-Amz-Signature=/ });
  const denied = await call('POST', '/v1/credentials', 'stranger', { database: 'orders', access: 'ro' });
  t.equal(denied.status, 403, 'a denial is recorded too');

  const events = await call('GET', '/v1/audit/events?database=orders', 'auditor');
  t.equal(events.status, 200, 'query the audit log');
  const types = events.body.items.map((e: { eventType: string; outcome: string }) => `${e.eventType}/${e.outcome}`);
  t.ok(types.includes('credential.issued/issued') && types.includes('credential.denied/denied'), `the grant and the denial are in the log (${types.join(', ')})`);

  const round = await running.app.auditSealer.sealNow();
  t.ok(round.seals >= 1, 'the sealer, running as dab_app, seals');
  const verified = await call('GET', '/v1/audit/verify', 'auditor');
  t.match(verified, { status: 200, body: { ok: true, unsealedEvents: 0, checkedEvents: round.events } }, 'and the chain verifies');

  await asRole('dab_app', async (c) => {
    for (const sql of ['UPDATE audit_events SET reason = reason', 'DELETE FROM audit_events', 'TRUNCATE audit_events', 'UPDATE audit_seals SET sealed_at = sealed_at', 'DELETE FROM audit_seals']) {
      const err = await refusal(c, sql);
      t.equal(err.code, '42501', `${sql}: refused`);
      // The privilege itself is missing: the append-only trigger is a second wall, not the only one.
      t.match(err.message, /permission denied for table audit_(events|seals)/, `${sql}: by privilege, not only by trigger`);
    }
    for (const sql of ['ALTER TABLE audit_events DISABLE TRIGGER USER', 'DROP TRIGGER audit_events_no_update_delete ON audit_events']) {
      t.match((await refusal(c, sql)).message, /must be owner/, `${sql}: refused`);
    }
    t.match((await refusal(c, 'UPDATE access_model_version SET version = 1')).message, /permission denied/, 'the access-model counter cannot be set back');
    t.match((await refusal(c, 'CREATE TABLE audit_shadow (id int)')).message, /permission denied for schema public/, 'dab_app creates nothing');
  });
});

t.test('a role missing one grant: /readyz is 503 and names it; granting it back makes dab ready', async (t) => {
  await asRole('dab_owner', (c) => c.query('REVOKE INSERT ON audit_seals FROM dab_app').then(() => undefined));
  const store = createPostgresStore({ url: server.url('dab', 'dab_app'), poolMax: 2, connectionTimeoutMs: 5000, statementTimeoutMs: 5000, onPoolError: () => undefined });
  const config = loadConfig({
    DATABASE_URL: server.url('dab', 'dab_app'),
    DAB_ISSUERS: JSON.stringify([{ issuer: 'https://idp.invalid', audience: 'dab', jwksUrl: 'https://idp.invalid/jwks' }]),
    DAB_AUDIT_FINGERPRINT_KEY: randomBytes(32).toString('hex'),
    DAB_AUDIT_SEAL_INTERVAL_SECONDS: '0',
    DAB_LOG_LEVEL: 'silent',
  });
  const app = await buildApp(config, { store, assumeRole: async () => Promise.reject(new Error('unused')) });
  t.teardown(async () => {
    await app.close();
    await store.close();
  });

  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '5');
  t.match(res.json(), { code: 'not_ready', detail: /lacks privileges serving needs: INSERT on audit_seals \(the audit sealer\)/ });
  t.notMatch(res.json().detail, /SELECT on audit_seals|audit_events/, 'only what is missing is named');
  t.notMatch(res.body, /dab_app@|postgres:\/\//, 'no connection details');

  await runPsql(t, GRANTS_COMMAND);
  const again = await app.inject({ method: 'GET', url: '/readyz' });
  t.same([again.statusCode, again.json()], [200, { status: 'ready' }], 'a missing privilege is never cached: the next probe sees the grant');
});
