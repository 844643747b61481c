// Which store dab opens is an explicit choice (DATABASE_URL or store.embedded), and `dab migrate`
// needs nothing but the store settings.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import { startServer } from '../../src/server.js';
import { bundledMigrations } from '../../src/store/migrate.js';
import { runSqlOnce, urlForDatabase } from '../../src/store/run-sql.js';
import { cli } from '../support/run-cli.js';

// A real server whatever store the rest of the suite uses: migrate's own connection is under test.
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const dir = mkdtempSync(join(tmpdir(), 'dab-store-choice-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = join(dir, 'store');
const serveEnv = {
  DAB_ISSUERS: JSON.stringify([{ issuer: 'https://idp.example', audience: 'dab', jwksUrl: 'https://idp.example/jwks' }]),
  DAB_AUDIT_FINGERPRINT_KEY: randomBytes(32).toString('hex'),
  DAB_DATA_DIR: dataDir,
  DAB_PORT: '0',
  DAB_LOG_LEVEL: 'silent',
};

t.test('dab serve with a configuration but no DATABASE_URL refuses, naming the setting, and makes no local store', async (t) => {
  const res = await cli(['serve'], serveEnv);
  t.equal(res.code, 3, 'a configuration error');
  t.match(res.err, /^dab: config store\.url \(DATABASE_URL\): no store chosen;.*store\.embedded: true \(DAB_STORE_EMBEDDED=true\)/);
  t.equal(res.err.split('\n').length, 1, 'one line');
  t.notOk(existsSync(dataDir), 'no .dab-data folder was created');
});

t.test('DATABASE_URL and store.embedded together are refused, not guessed between', async (t) => {
  const res = await cli(['serve'], { ...serveEnv, DATABASE_URL: 'postgres://dab@db.internal/dab', DAB_STORE_EMBEDDED: 'true' });
  t.equal(res.code, 3);
  t.match(res.err, /config store\.embedded \(DAB_STORE_EMBEDDED\): true, but store\.url \(DATABASE_URL\) is set too; choose one/);
  t.throws(() => parseConfig({ store: { url: 'postgres://x@y/z', embedded: true }, auth: { issuers: JSON.parse(serveEnv.DAB_ISSUERS) }, audit: { fingerprintKey: serveEnv.DAB_AUDIT_FINGERPRINT_KEY } }), /choose one/);
  const bad = await cli(['serve'], { ...serveEnv, DAB_STORE_EMBEDDED: 'yes' });
  t.match(bad.err, /env DAB_STORE_EMBEDDED: must be true or false/);
});

t.test('store.embedded: true is the explicit way to serve on the embedded store', async (t) => {
  const config = parseConfig({
    listen: { port: 0 },
    logLevel: 'silent',
    store: { embedded: true, dataDir },
    auth: { issuers: JSON.parse(serveEnv.DAB_ISSUERS) },
    audit: { fingerprintKey: serveEnv.DAB_AUDIT_FINGERPRINT_KEY, sealIntervalSeconds: 0 },
  });
  const server = await startServer(config);
  t.teardown(() => server.close());
  const res = await fetch(new URL('/readyz', server.url));
  t.equal(res.status, 200, 'ready');
  t.ok(existsSync(dataDir), `the store lives in ${dataDir}, as chosen`);
});

t.test('dab migrate with no store chosen refuses the same way', async (t) => {
  const res = await cli(['migrate'], {});
  t.equal(res.code, 3);
  t.match(res.err, /config store\.url \(DATABASE_URL\): no store chosen/);
});

t.test('DATABASE_URL=... dab migrate works with no other setting', async (t) => {
  const name = `dab_migrate_cli_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(SERVER_URL, `CREATE DATABASE ${name}`);
  t.teardown(() => runSqlOnce(SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = urlForDatabase(SERVER_URL, name);

  const first = await cli(['migrate'], { DATABASE_URL: url });
  t.equal(first.code, 0, `no issuers, no fingerprint key, nothing else (${first.err})`);
  t.equal(first.out, `applied ${bundledMigrations().length} migration(s): ${bundledMigrations().map((m) => m.name).join(', ')}`);
  const again = await cli(['migrate'], { DATABASE_URL: url });
  t.same([again.code, again.out], [0, 'the store is up to date; nothing to apply']);
});

t.test('dab migrate reads the store section of DAB_CONFIG and ignores the rest', async (t) => {
  const name = `dab_migrate_cli_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(SERVER_URL, `CREATE DATABASE ${name}`);
  t.teardown(() => runSqlOnce(SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  // serve would refuse this file (no issuers, no key, an unknown section); migrate needs none of it.
  const file = join(dir, 'dab.yaml');
  writeFileSync(file, `store:\n  url: ${urlForDatabase(SERVER_URL, name)}\n  poolMax: 2\nauth: {}\nfuture: { section: true }\n`);
  const res = await cli(['migrate'], { DAB_CONFIG: file });
  t.equal(res.code, 0, res.err);
  t.match(res.out, /^applied \d+ migration/);
  t.equal((await cli(['serve'], { DAB_CONFIG: file })).code, 3, 'serve still checks the whole file');

  writeFileSync(file, 'store:\n  url: postgres://x@y/z\n  poolMax: 0\n');
  const bad = await cli(['migrate'], { DAB_CONFIG: file });
  t.equal(bad.code, 3);
  t.match(bad.err, /^dab: config store\.poolMax: must be >= 1$/, 'a bad store setting is named, as loadConfig names it');
  const env = await cli(['migrate'], { DAB_CONFIG: file, DAB_MIGRATE_ON_START: 'maybe' });
  t.match(env.err, /env DAB_MIGRATE_ON_START: must be true or false/, 'the same env names as serve');
});
