import t from 'tap';
import { cli } from '../support/run-cli.js';
import { startHarness } from '../support/harness.js';

const h = await startHarness(t);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
await h.registerOrders();
await h.map('alice', 'orders', ['ro'], { name: 'alice-ro' });
await h.map('group:oncall', 'orders', ['rw'], { name: 'oncall-rw', requireReason: true, expiresAt: '2099-01-01T00:00:00Z' });
await h.map('alice', 'orders', ['monitor'], { name: 'alice-later', notBefore: '2098-01-01T00:00:00Z' });

t.test('dab access lists what the caller can get, through which mapping', async (t) => {
  const env = { DAB_URL: url, DAB_TOKEN: await h.token('alice', ['oncall']) };
  const res = await cli(['access'], env);
  t.equal(res.code, 0, res.err);
  t.equal(
    res.out,
    [
      'DATABASE  LEVEL  VIA MAPPING  REASON REQUIRED  EXPIRES',
      'orders    ro     alice-ro     no               never',
      'orders    rw     oncall-rw    yes              2099-01-01T00:00:00.000Z',
    ].join('\n'),
    'mappings not valid yet grant nothing',
  );
  const json = await cli(['access', '--format', 'json'], env);
  t.match(JSON.parse(json.out), { at: String, items: [{ database: 'orders', level: 'ro', mapping: 'alice-ro', requireReason: false }, { level: 'rw' }] });
});

t.test('a caller with no mappings is told whom to ask; not an error', async (t) => {
  const res = await cli(['access'], { DAB_URL: url, DAB_TOKEN: await h.token('nobody') });
  t.equal(res.code, 0, res.err);
  t.equal(res.out, 'You have no database access: ask a DBA for a mapping.');
});

t.test('usage and failures', async (t) => {
  t.match((await cli(['access', '--help'])).out, /^Usage: dab access/);
  t.match((await cli(['--help'])).out, /access +List the databases/);
  t.equal((await cli(['access', 'orders'], { DAB_URL: url, DAB_TOKEN: 'x' })).code, 2);
  t.equal((await cli(['access', '--format', 'xml'], { DAB_URL: url, DAB_TOKEN: 'x' })).code, 2);
  const rejected = await cli(['access'], { DAB_URL: url, DAB_TOKEN: 'not-a-jwt' });
  t.equal(rejected.code, 6);
  t.match(rejected.err, /^dab: dab rejected your token/);
  t.equal((await cli(['access'], { DAB_TOKEN: 'x' })).code, 2, 'no URL');
});
