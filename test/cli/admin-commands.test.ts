import { writeFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { cli } from '../support/run-cli.js';
import { startHarness } from '../support/harness.js';

const dir = t.testdir();
const h = await startHarness(t);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { DAB_URL: url, DAB_TOKEN: await h.adminToken() };
const iss = h.issuer.issuer;
await h.registerOrders({ labels: { env: 'prod' } });
await h.map('app-orders', 'orders', ['ro'], { name: 'app-orders-ro', owner: 'team-orders' });
await h.map('group:oncall', 'orders', ['rw'], { name: 'oncall-rw', requireReason: true, expiresAt: '2099-01-01T00:00:00Z' });

const write = (name: string, text: string) => {
  writeFileSync(`${dir}/${name}`, text);
  return `${dir}/${name}`;
};

t.test('get: YAML by default, JSON on request; by name or id; a clear not-found', async (t) => {
  const db = await cli(['admin', 'get', 'database', 'orders'], env);
  t.equal(db.code, 0, db.err);
  t.match(db.out, /^name: orders\nengine: postgres\nhost: orders\.cluster-abc123/);
  t.match(parse(db.out), { name: 'orders', port: 5432, labels: { env: 'prod' }, version: 1 });
  const m = await cli(['admin', 'get', 'mapping', 'app-orders-ro', '--format', 'json'], env);
  t.equal(m.code, 0, m.err);
  const mapping = JSON.parse(m.out) as { id: string; name: string; owner: string };
  t.match(mapping, { name: 'app-orders-ro', owner: 'team-orders', principal: { issuer: iss, subject: 'app-orders' }, levels: ['ro'] });
  const byId = await cli(['admin', 'get', 'mapping', mapping.id], env);
  t.match(byId.out, /^name: app-orders-ro\nid: /);
  const missing = await cli(['admin', 'get', 'database', 'nope'], env);
  t.equal(missing.code, 1);
  t.match(missing.err, /^dab: no database named "nope"/);
  t.equal((await cli(['admin', 'get', 'database'], env)).code, 2);
  const odd = await cli(['admin', 'get', 'mapping', 'Bad_Name'], env);
  t.equal(odd.code, 2);
  t.match(odd.err, /"Bad_Name" is not a mapping name or id: names are lower-case letters, digits and dashes/);
  t.equal((await cli(['admin', 'get', 'mapping', 'x', '--format', 'xml'], env)).code, 2);
});

t.test('list: a compact table, filters, YAML and JSON', async (t) => {
  const dbs = await cli(['admin', 'list', 'databases'], env);
  t.equal(dbs.code, 0, dbs.err);
  t.match(dbs.out, /^NAME +ENDPOINT +REGION +LEVELS +LABELS\norders +orders\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com:5432\/orders +us-east-1 +ro,rw,monitor +env=prod$/);
  const all = await cli(['admin', 'list', 'mappings'], env);
  t.equal(all.out.split('\n').length, 3, all.out);
  t.match(all.out, /^app-orders-ro +subject app-orders@\S+ +orders +ro +team-orders$/m);
  t.match(all.out, /^oncall-rw +group oncall@\S+ +orders +rw +- +reason until 2099-01-01T00:00:00\.000Z$/m);
  const owned = await cli(['admin', 'list', 'mappings', '--owner', 'team-orders', '--format', 'json'], env);
  t.same((JSON.parse(owned.out) as Array<{ name: string }>).map((m) => m.name), ['app-orders-ro']);
  const group = await cli(['admin', 'list', 'mappings', '--group', 'oncall', '--issuer', iss, '--format', 'yaml'], env);
  t.match(parse(group.out), [{ name: 'oncall-rw', levels: ['rw'] }]);
  const none = await cli(['admin', 'list', 'mappings', '--subject', 'nobody'], env);
  t.equal(none.code, 0);
  t.equal(none.out, '');
  t.equal(none.err, 'no mappings match');
  const wrongFilter = await cli(['admin', 'list', 'databases', '--owner', 'x'], env);
  t.equal(wrongFilter.code, 2);
  t.match(wrongFilter.err, /--owner filters mappings, not databases/);
});

t.test('put: creates and updates what the file declares, leaves the rest; errors point at lines', async (t) => {
  const file = write('put.yaml', `mappings:
  - name: carol-ro
    principal: { issuer: ${iss}, subject: carol }
    database: orders
    levels: [ro]
  - name: app-orders-ro
    principal: { issuer: ${iss}, subject: app-orders }
    database: orders
    levels: [ro, monitor]
    owner: team-orders
`);
  const dry = await cli(['admin', 'put', '-f', file, '--dry-run'], env);
  t.equal(dry.code, 0, dry.err);
  t.match(dry.out, /^\+ subject carol@\S+ gains ro on orders$/m);
  t.match(dry.out, /^\+ subject app-orders@\S+ gains monitor on orders$/m);
  t.match(dry.out, /^\+ create mapping carol-ro\n~ update mapping app-orders-ro\n\n(\+ subject .*\n){2}\n1 to create, 1 to update, 0 to delete, 0 unchanged; 2 gains, 0 losses across \d+ principals \(dry run: nothing changed\)$/);
  t.equal((await cli(['admin', 'get', 'mapping', 'carol-ro'], env)).code, 1, 'dry run created nothing');
  const real = await cli(['admin', 'put', '-f', file], env);
  t.match(real.out, /1 created, 1 updated, 0 deleted, 0 unchanged/);
  t.match((await cli(['admin', 'put', '-f', file], env)).out, /^0 created, 0 updated, 0 deleted, 2 unchanged; 0 gains, 0 losses/);
  t.match((await cli(['admin', 'list', 'mappings'], env)).out, /^oncall-rw/m, 'others untouched');

  const bad = write('bad-put.yaml', `databases: []
mappings:
  - name: fine
    principal: { issuer: ${iss}, subject: dave }
    database: orders
    levels: [ro]
  - name: dangling
    principal: { issuer: ${iss}, subject: erin }
    database: nowhere
    levels: [ro]
`);
  const res = await cli(['admin', 'put', '-f', bad], env);
  t.equal(res.code, 2, res.err);
  t.match(res.err, /bad-put\.yaml:9:5: mappings\[1\]\.database: .*nowhere/);
  const principal = write('principal.yaml', `mappings:\n  - name: both\n    principal: { issuer: ${iss}, subject: x, group: y }\n    database: orders\n    levels: [ro]\n`);
  const both = await cli(['admin', 'put', '-f', principal], env);
  t.equal(both.code, 2, both.err);
  t.equal(both.err.split('\n')[0], `${dir}/principal.yaml:3:5: mappings[0].principal: must be issuer plus exactly one of subject, group or claim {name, value}`);
  t.match(both.err.split('\n')[1], /^dab: .*principal\.yaml: 1 problem to fix; nothing was changed$/);
  const empty = await cli(['admin', 'put', '-f', write('empty.yaml', 'mappings: []\n')], env);
  t.equal(empty.code, 2);
  t.match(empty.err, /declares no databases and no mappings/);
});

t.test('delete: by name, with a plan; refusals are explained', async (t) => {
  const dry = await cli(['admin', 'delete', 'mapping', 'carol-ro', '--dry-run'], env);
  t.equal(dry.code, 0, dry.err);
  t.match(dry.out, /^- delete mapping carol-ro\n\n- subject carol@\S+ loses ro on orders\n\n0 to create, 0 to update, 1 to delete, 0 unchanged; 0 gains, 1 loss across \d+ principals? \(dry run: nothing changed\)$/);
  const json = await cli(['admin', 'delete', 'mapping', 'carol-ro', '--dry-run', '--format', 'json'], env);
  t.match(JSON.parse(json.out), { dryRun: true, changes: [{ kind: 'mapping', name: 'carol-ro', action: 'delete' }], impact: { losses: [{ database: 'orders', level: 'ro' }] } });
  const real = await cli(['admin', 'delete', 'mapping', 'carol-ro'], env);
  t.match(real.out, /0 created, 0 updated, 1 deleted/);
  const again = await cli(['admin', 'delete', 'mapping', 'carol-ro'], env);
  t.equal(again.code, 1);
  t.match(again.err, /^dab: cannot delete mapping carol-ro: no mapping named "carol-ro"/);
  const inUse = await cli(['admin', 'delete', 'database', 'orders'], env);
  t.equal(inUse.code, 1);
  t.match(inUse.err, /^dab: cannot delete database orders: conflict/);
  t.equal((await cli(['admin', 'delete', 'table', 'x'], env)).code, 2);
  t.match((await cli(['admin', 'delete', '--help'])).out, /^Usage: dab admin delete database NAME/);
});

t.test('explain: the deciding mapping or the reason, and every mapping considered', async (t) => {
  const base = ['admin', 'explain', '--issuer', iss, '--database', 'orders'];
  const allowed = await cli([...base, '--subject', 'app-orders', '--access', 'ro'], env);
  t.equal(allowed.code, 0, allowed.err);
  t.match(allowed.out, /^allowed by mapping app-orders-ro: ro on orders as DB user orders_ro via arn:aws:iam::\d+:role\/orders-ro\ndecided at \S+\n\nconsidered \(most specific first\):\n {2}VERDICT +MAPPING/);
  const needsReason = await cli([...base, '--subject', 'pat', '--group', 'oncall', '--access', 'rw'], env);
  t.match(needsReason.out, /^denied: reason_required \(mapping oncall-rw\): the mapping requires a reason \(pass --reason\)\n[\s\S]*\n {2}reason_required +oncall-rw +group oncall@/);
  const withReason = await cli([...base, '--subject', 'pat', '--group', 'oncall', '--access', 'rw', '--reason', 'INC-42'], env);
  t.match(withReason.out, /^allowed by mapping oncall-rw/);
  const later = await cli([...base, '--subject', 'pat', '--group', 'oncall', '--access', 'rw', '--reason', 'x', '--at', '2100-01-01T00:00:00Z'], env);
  t.match(later.out, /^denied: mapping_expired \(mapping oncall-rw\)[\s\S]*decided at 2100-01-01T00:00:00\.000Z/);
  const nobody = await cli([...base, '--subject', 'zed', '--access', 'ro', '--claim', 'dept=x', '--claim', 'dept=y'], env);
  t.match(nobody.out, /^denied: no_mapping: no mapping names this caller for this database\n/);
  const json = await cli([...base, '--subject', 'app-orders', '--access', 'rw', '--format', 'json'], env);
  t.match(JSON.parse(json.out), { allowed: false, reason: 'level_not_granted', considered: [{ name: 'app-orders-ro', verdict: 'other_levels' }] });
  for (const [argv, message] of [
    [['--subject', 'x', '--access', 'ro'], /name the caller/],
    [[...base.slice(2), '--subject', 'x', '--access', 'admin'], /--access must be ro, rw or monitor/],
    [[...base.slice(2), '--subject', 'x', '--access', 'ro', '--at', 'tuesday'], /--at must be an ISO 8601 instant/],
    [[...base.slice(2), '--subject', 'x', '--access', 'ro', '--claim', 'novalue'], /--claim must be NAME=VALUE/],
  ] as Array<[string[], RegExp]>) {
    const res = await cli(['admin', 'explain', ...argv], env);
    t.equal(res.code, 2, res.err);
    t.match(res.err, message);
  }
  t.match((await cli(['admin', 'explain', '--help'])).out, /^Usage: dab admin explain --issuer I --subject S/);
});

t.test('errors reaching dab', async (t) => {
  const down = await cli(['admin', 'list', 'databases'], { DAB_URL: 'http://127.0.0.1:1', DAB_TOKEN: 'x' });
  t.equal(down.code, 4);
  const badToken = await cli(['admin', 'list', 'databases'], { DAB_URL: url, DAB_TOKEN: 'not-a-jwt' });
  t.equal(badToken.code, 6, badToken.err);
  const caller = await cli(['admin', 'export'], { DAB_URL: url, DAB_TOKEN: await h.token('app-orders') });
  t.equal(caller.code, 5, caller.err);
  t.match(caller.err, /^dab: dab refused to export the access document: this endpoint is for DBAs \(admins\); it needs a DBA's \(admin\) token/);
});
