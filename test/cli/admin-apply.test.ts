import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { cli } from '../support/run-cli.js';
import { EXTERNAL_ID, ROLE_DB, ROLE_RO, ROLE_RW, startHarness } from '../support/harness.js';

const dir = t.testdir();
const h = await startHarness(t);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { DAB_URL: url, DAB_TOKEN: await h.adminToken() };
const iss = h.issuer.issuer;

const DATABASES = `databases:
  - name: orders-prod
    host: orders.cluster-abc123.us-east-1.rds.amazonaws.com
    port: 5432
    region: us-east-1
    dbname: orders
    roleArn: ${ROLE_DB}
    externalId: ${EXTERNAL_ID}
    sslmode: verify-full
    labels: { env: prod }
    levels:
      ro: { dbUser: orders_ro, roleArn: ${ROLE_RO} }
      rw: { dbUser: orders_rw, roleArn: ${ROLE_RW} }
  - name: billing
    host: billing.cluster-abc123.us-east-1.rds.amazonaws.com
    port: 5432
    region: us-east-1
    dbname: billing
    roleArn: ${ROLE_DB}
    externalId: ${EXTERNAL_ID}
    sslmode: require
    labels: { env: prod }
    levels:
      ro: { dbUser: billing_ro }
`;

const MAPPINGS = `mappings:
  - name: payments-ro
    description: the payments team reads production
    principal: { issuer: ${iss}, group: payments }
    selector: { env: prod }
    levels: [ro]
  - name: alice-rw
    principal:
      issuer: ${iss}
      subject: alice
    database: orders-prod
    levels: [rw, ro]
    requireReason: true
    expiresAt: 2099-01-01T00:00:00Z
    owner: team-payments
`;

const write = (name: string, text: string) => {
  writeFileSync(`${dir}/${name}`, text);
  return `${dir}/${name}`;
};
const file = write('access.yaml', `# payments access\n${DATABASES}\n${MAPPINGS}`);

t.test('apply creates everything and lists who gains what; applying again changes nothing', async (t) => {
  const first = await cli(['admin', 'apply', '-f', file], env);
  t.equal(first.code, 0, first.err);
  const lines = first.out.split('\n');
  t.same(lines.slice(0, 4), ['+ create database orders-prod', '+ create database billing', '+ create mapping payments-ro', '+ create mapping alice-rw']);
  t.ok(lines.includes(`+ group payments@${iss} gains ro on orders-prod`), first.out);
  t.ok(lines.includes(`+ group payments@${iss} gains ro on billing`), first.out);
  t.ok(lines.includes(`+ subject alice@${iss} gains rw on orders-prod`), first.out);
  t.match(lines[lines.length - 1], /^4 created, 0 updated, 0 deleted, 0 unchanged; \d+ gains, 0 losses across \d+ principals$/);

  const again = await cli(['admin', 'apply', '-f', file], env);
  t.equal(again.code, 0, again.err);
  t.match(again.out, /^0 created, 0 updated, 0 deleted, 4 unchanged; 0 gains, 0 losses across \d+ principals$/);
});

t.test('--dry-run shows the plan and changes nothing', async (t) => {
  const changed = write('changed.yaml', `${DATABASES}\n${MAPPINGS.replace('levels: [rw, ro]', 'levels: [ro]')}`);
  const before = await cli(['admin', 'export'], env);
  const dry = await cli(['admin', 'apply', '-f', changed, '--dry-run'], env);
  t.equal(dry.code, 0, dry.err);
  t.match(dry.out, /^~ update mapping alice-rw\n\n- subject alice@\S+ loses rw on orders-prod\n\n0 to create, 1 to update, 0 to delete, 3 unchanged; 0 gains, 1 loss across \d+ principals \(dry run: nothing changed\)$/);
  t.equal((await cli(['admin', 'export'], env)).out, before.out, 'nothing changed');
});

t.test('a loss for a caller active in the audit log is marked', async (t) => {
  const alice = await h.token('alice');
  const granted = await h.grant(alice, { database: 'orders-prod', access: 'rw', reason: 'INC-1' });
  t.equal(granted.statusCode, 200, granted.body);
  const changed = write('no-alice.yaml', `${DATABASES}\n${MAPPINGS.replace('levels: [rw, ro]', 'levels: [ro]')}`);
  const dry = await cli(['admin', 'apply', '-f', changed, '--dry-run'], env);
  t.match(dry.out, /^- subject alice@\S+ loses rw on orders-prod \(active: seen in the audit log in the last \d+ days\)$/m);
});

t.test('--prune deletes what the file does not declare; refuses a file missing a section', async (t) => {
  await h.map('bob', 'billing', ['ro'], { name: 'bob-billing' });
  const noPrune = await cli(['admin', 'apply', '-f', file], env);
  t.match(noPrune.out, /^0 created, 0 updated, 0 deleted, 4 unchanged/, 'without --prune, undeclared mappings stay');

  const dry = await cli(['admin', 'apply', '-f', file, '--prune', '--dry-run'], env);
  t.match(dry.out, /^- delete mapping bob-billing\n\n- subject bob@\S+ loses ro on billing\n\n0 to create, 0 to update, 1 to delete, 4 unchanged; 0 gains, 1 loss/);
  const pruned = await cli(['admin', 'apply', '-f', file, '--prune'], env);
  t.equal(pruned.code, 0, pruned.err);
  t.match(pruned.out, /^- delete mapping bob-billing\n[\s\S]*0 created, 0 updated, 1 deleted, 4 unchanged/);
  t.equal((await cli(['admin', 'get', 'mapping', 'bob-billing'], env)).code, 1, 'gone');

  const onlyMappings = write('only-mappings.yaml', MAPPINGS);
  const refused = await cli(['admin', 'apply', '-f', onlyMappings, '--prune'], env);
  t.equal(refused.code, 2);
  t.match(refused.err, /--prune deletes everything .*only-mappings\.yaml does not declare, and it has no databases: key; write "databases: \[\]"/);
});

t.test('export writes YAML that apply reads back with 0 changes', async (t) => {
  const exported = await cli(['admin', 'export', '-o', `${dir}/exported.yaml`], env);
  t.equal(exported.code, 0, exported.err);
  t.match(exported.err, /^wrote 2 databases and 2 mappings to /);
  const text = readFileSync(`${dir}/exported.yaml`, 'utf8');
  t.match(text, /^# dab access document, exported from http:\/\/127\.0\.0\.1:\d+\n/);
  t.match(text, /\ndatabases:\n {2}- name: billing\n {4}engine: postgres\n {4}host: billing\./, 'sorted by name, name first, then the engine');
  t.notMatch(text, /version|createdAt|updatedAt|\bid:/);
  t.match(text, /expiresAt: 2099-01-01T00:00:00\.000Z/);
  const back = await cli(['admin', 'apply', '-f', `${dir}/exported.yaml`, '--prune', '--dry-run'], env);
  t.equal(back.code, 0, back.err);
  t.match(back.out, /^0 to create, 0 to update, 0 to delete, 4 unchanged; 0 gains, 0 losses/);
  t.equal((await cli(['admin', 'export'], env)).out, text.trimEnd(), 'stdout is the same document');
});

t.test('problems in the file: FILE:LINE:COL, exit 2, nothing applied', async (t) => {
  const cases: Array<{ name: string; text: string; expect: RegExp[] }> = [
    { name: 'syntax.yaml', text: 'mappings:\n  - name: x\n    levels: [ro\n', expect: [/syntax\.yaml:\d+:\d+: .*(flow|Flow)/] },
    { name: 'dupkey.yaml', text: `${MAPPINGS}    levels: [ro]\n`, expect: [/dupkey\.yaml:16:5: duplicate key "levels"/] },
    { name: 'dupname.yaml', text: `${MAPPINGS}  - name: payments-ro\n    levels: [ro]\n`, expect: [/dupname\.yaml:16:11: mappings\[2\]\.name: duplicate mapping name "payments-ro": also declared at line 2/] },
    { name: 'unknown.yaml', text: `${MAPPINGS}owners: [me]\n`, expect: [/unknown\.yaml:16:1: unknown top-level key "owners"/] },
  ];
  for (const c of cases) {
    const res = await cli(['admin', 'apply', '-f', write(c.name, c.text)], env);
    t.equal(res.code, 2, c.name);
    for (const e of c.expect) t.match(res.err, e, c.name);
    t.match(res.err.split('\n').at(-1), /^dab: .*: 1 problem to fix; nothing was changed$/, c.name);
  }
});

t.test("dab's validation errors are mapped back to lines", async (t) => {
  const mapping = (body: string) => `mappings:\n  - name: ok\n    principal: { issuer: ${iss}, group: payments }\n    database: billing\n    levels: [ro]\n${body}`;
  const cases: Array<{ name: string; text: string; expect: string }> = [
    {
      name: 'region.yaml',
      text: DATABASES.replace('region: us-east-1\n    dbname: billing', 'region: mars-1\n    dbname: billing'),
      expect: 'region.yaml:17:5: databases[1].region: must be an AWS region, e.g. eu-west-1',
    },
    {
      name: 'colour.yaml',
      text: mapping(`  - name: extra-key\n    principal: { issuer: ${iss}, subject: carol }\n    database: billing\n    levels: [ro]\n    colour: blue\n`),
      expect: 'colour.yaml:10:5: mappings[1].colour: unknown key "colour" (a mapping has: name, principal, database, selector, levels, notBefore, expiresAt, requireReason, description, owner)',
    },
    {
      name: 'principal.yaml',
      text: mapping(`  - name: both\n    principal:\n      issuer: ${iss}\n      subject: x\n      group: y\n    database: billing\n    levels: [ro]\n`),
      expect: 'principal.yaml:7:5: mappings[1].principal: must be issuer plus exactly one of subject, group or claim {name, value}',
    },
    {
      name: 'selector.yaml',
      text: mapping(`  - name: no-labels\n    principal: { issuer: ${iss}, group: x }\n    selector: {}\n    levels: [ro]\n`),
      expect: 'selector.yaml:8:5: mappings[1].selector: needs at least one label, e.g. { env: prod } (or name one database instead)',
    },
    {
      name: 'date.yaml',
      text: mapping(`  - name: dated\n    principal: { issuer: ${iss}, group: x }\n    database: billing\n    levels: [ro]\n    expiresAt: 2030-01-01\n`),
      expect: 'date.yaml:10:5: mappings[1].expiresAt: must be an ISO 8601 instant with a time zone, e.g. 2025-07-01T09:00:00Z',
    },
    {
      name: 'dangling.yaml',
      text: mapping(`  - name: dangling\n    principal: { issuer: ${iss}, group: x }\n    database: nowhere\n    levels: [ro]\n`),
      expect: 'dangling.yaml:8:5: mappings[1].database: ',
    },
  ];
  for (const c of cases) {
    const res = await cli(['admin', 'apply', '-f', write(c.name, c.text), '--dry-run'], env);
    t.equal(res.code, 2, `${c.name}: ${res.err}`);
    const lines = res.err.split('\n');
    t.ok(lines[0]?.startsWith(`${dir}/${c.expect}`), `${c.name}: ${res.err}`);
    t.match(lines.at(-1), /nothing was changed$/, c.name);
    for (const l of lines.slice(0, -1)) t.match(l, new RegExp(`^${dir}/${c.name}:\\d+:\\d+: `), 'every problem has a line');
  }
});

t.test('every schema problem of a document in one run, each at its line', async (t) => {
  const text = DATABASES.replace('region: us-east-1\n    dbname: billing', 'region: mars-1\n    dbname: billing') +
    MAPPINGS.replace('    owner: team-payments\n', '    owner: team-payments\n    colour: blue\n').replace('expiresAt: 2099-01-01T00:00:00Z', 'expiresAt: 2099-01-01');
  const res = await cli(['admin', 'apply', '-f', write('three.yaml', text), '--dry-run'], env);
  t.equal(res.code, 2, res.err);
  const lines = res.err.split('\n');
  t.match(lines, [
    /three\.yaml:17:5: databases\[1\]\.region: must be an AWS region/,
    /three\.yaml:38:5: mappings\[1\]\.expiresAt: must be an ISO 8601 instant/,
    /three\.yaml:40:5: mappings\[1\]\.colour: unknown key "colour"/,
    /^dab: .*three\.yaml: 3 problems to fix; nothing was changed$/,
  ]);
  t.equal(lines.length, 4, 'three problems, then the verdict');
});

t.test("every one of dab's semantic problems of a document in one run, each at its line", async (t) => {
  const text = `mappings:
  - name: m-unknown
    principal: { issuer: ${iss}, subject: a }
    database: nowhere
    levels: [ro]
  - name: m-nothing
    principal: { issuer: ${iss}, group: g }
    selector: { env: mars }
    levels: [ro]
  - name: m-level
    principal: { issuer: ${iss}, subject: b }
    database: billing
    levels: [rw]
  - name: m-window
    principal: { issuer: ${iss}, subject: c }
    database: billing
    levels: [ro]
    notBefore: 2099-06-01T00:00:00Z
    expiresAt: 2099-01-01T00:00:00Z
  - name: m-overlap
    principal: { issuer: ${iss}, subject: alice }
    database: orders-prod
    levels: [ro]
`;
  const before = await cli(['admin', 'export'], env);
  const res = await cli(['admin', 'apply', '-f', write('semantic.yaml', text)], env);
  t.equal(res.code, 2, res.err);
  const lines = res.err.split('\n');
  t.match(lines, [
    /semantic\.yaml:4:5: mappings\[0\]\.database: no database named "nowhere"/,
    /semantic\.yaml:8:5: mappings\[1\]\.selector: matches no registered database/,
    /semantic\.yaml:13:5: mappings\[2\]\.levels: rw not defined on billing/,
    /semantic\.yaml:18:5: mappings\[3\]\.notBefore: must be before expiresAt/,
    /semantic\.yaml:23:5: mappings\[4\]\.levels: overlaps mapping "alice-rw"/,
    /^dab: .*semantic\.yaml: 5 problems to fix; nothing was changed$/,
  ], res.err);
  t.equal(lines.length, 6, 'five problems, then the verdict');
  t.equal((await cli(['admin', 'export'], env)).out, before.out, 'nothing changed');

  // A conflict with what dab holds (a level a mapping still grants) is placed too.
  const dropRw = write('drop-rw.yaml', DATABASES.replace(`      rw: { dbUser: orders_rw, roleArn: ${ROLE_RW} }\n`, ''));
  const conflict = await cli(['admin', 'apply', '-f', dropRw, '--dry-run'], env);
  t.equal(conflict.code, 2, conflict.err);
  t.match(conflict.err.split('\n'), [/drop-rw\.yaml:11:5: databases\[0\]\.levels: would no longer define rw, which mapping "alice-rw" still grants/, /1 problem to fix; nothing was changed$/]);
});

t.test('usage and help', async (t) => {
  t.match((await cli(['admin', 'apply', '--help'])).out, /^Usage: dab admin apply -f FILE/);
  t.match((await cli(['admin', '--help'])).out, /^Usage: dab admin <command>/);
  t.match((await cli(['admin', 'apply', '-f', 'x.yaml', '-h'])).out, /^Usage: dab admin apply -f FILE/);
  t.match((await cli(['admin', 'bootstrap', '--help'])).out, /^Usage: dab admin bootstrap DATABASE/);
  for (const sub of ['export', 'get', 'list', 'put', 'delete', 'explain', 'check']) t.match((await cli(['admin', sub, '--help'])).out, new RegExp(`^Usage: dab admin ${sub}`), sub);
  t.match((await cli(['--help'])).out, /admin +Manage databases and mappings/);
  t.match((await cli(['admin'])).out, /^Usage: dab admin <command>/);
  const noFile = await cli(['admin', 'apply'], env);
  t.equal(noFile.code, 2);
  t.match(noFile.err, /name the access document/);
  const missing = await cli(['admin', 'apply', '-f', `${dir}/nope.yaml`], env);
  t.equal(missing.code, 1);
  t.match(missing.err, /nope\.yaml: cannot be read \(ENOENT\)/);
  const notAdmin = await cli(['admin', 'apply', '-f', file, '--dry-run'], { DAB_URL: url, DAB_TOKEN: await h.token('alice') });
  t.equal(notAdmin.code, 5, notAdmin.err);
  t.match(notAdmin.err, /needs a DBA's \(admin\) token/);
  const offline = await cli(['admin', 'apply', '-f', write('offline.yaml', 'mappings: [\n'), '--dry-run'], {});
  t.equal(offline.code, 2, 'the file is checked before dab is needed');
  t.match(offline.err, /offline\.yaml:\d+:\d+: /);
  const unknown = await cli(['admin', 'frobnicate'], env);
  t.equal(unknown.code, 2);
});
