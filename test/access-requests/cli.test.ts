import t from 'tap';
import { parseDuration } from '../../src/cli/request-commands.js';
import { cli } from '../support/run-cli.js';
import { startHarness } from '../support/harness.js';
import { applyPolicies, ordersPolicy } from './support.js';

// The loop from the command line: dab request, dab approve, dab creds, dab requests revoke; and
// the break-glass path with its review, as the README and the sandbox print them.

const h = await startHarness(t);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
await h.registerOrders();
await applyPolicies(h, [ordersPolicy(h.issuer.issuer)]);
const app = { DAB_URL: url, DAB_TOKEN: await h.token('app-1', ['apps']) };
const dba = { DAB_URL: url, DAB_TOKEN: await h.token('dba-alice') };

t.test('durations', async (t) => {
  t.same(['90m', '2h', '1h30m', '45s', '3600', '1d'].map(parseDuration), [5400, 7200, 5400, 45, 3600, 86400]);
  t.throws(() => parseDuration('2 hours'));
  t.throws(() => parseDuration('h'));
});

t.test('request → approve → creds → revoke', async (t) => {
  const req = await cli(['request', 'orders', '--access', 'rw', '--reason', 'fix OPS-1', '--duration', '30m', '--format', 'json'], app);
  t.equal(req.code, 0, req.err);
  const { id, version } = JSON.parse(req.out);
  t.equal((await cli(['creds', 'orders', '--access', 'rw'], app)).code, 5, 'not before approval');

  const own = await cli(['approve', id, '--version', String(version)], app);
  t.equal(own.code, 5);
  t.match(own.err, /self_approval/);
  const stale = await cli(['approve', id, '--version', '9'], dba);
  t.equal(stale.code, 1);
  t.match(stale.err, /request_changed/);
  t.equal((await cli(['approve', id], dba)).code, 2, '--version is required');

  const ok = await cli(['approve', id, '--version', String(version), '--note', 'ticket OPS-1'], dba);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, new RegExp(`request ${id}  active`));
  const creds = await cli(['creds', 'orders', '--access', 'rw'], app);
  t.equal(creds.code, 0, creds.err);
  t.equal(JSON.parse(creds.out).user, 'orders_rw');

  const list = await cli(['requests', 'list', '--state', 'active'], dba);
  t.match(list.out, id);
  const revoked = await cli(['requests', 'revoke', id, '--reason', 'done'], dba);
  t.equal(revoked.code, 0, revoked.err);
  t.match(revoked.out, /revoked/);
  t.equal((await cli(['creds', 'orders', '--access', 'rw'], app)).code, 5, 'revoked at once');
});

t.test('deny, cancel, break-glass and review', async (t) => {
  const other = { DAB_URL: url, DAB_TOKEN: await h.token('app-2', ['apps']) };
  const a = JSON.parse((await cli(['request', 'orders', '-a', 'rw', '-r', 'x', '-d', '10m', '--format', 'json'], other)).out);
  const denied = await cli(['deny', a.id, '--version', '1', '--reason', 'use ro'], dba);
  t.equal(denied.code, 0, denied.err);
  t.match(denied.out, /denied/);
  const b = JSON.parse((await cli(['request', 'orders', '-a', 'rw', '-r', 'y', '-d', '10m', '--format', 'json'], other)).out);
  t.match((await cli(['requests', 'cancel', b.id], other)).out, /cancelled/);

  const bg = await cli(['request', 'orders', '-a', 'rw', '-r', 'outage INC-1', '-d', '15m', '--break-glass'], other);
  t.equal(bg.code, 0, bg.err);
  t.match(bg.out, /active {2}break-glass \(unreviewed\)/);
  t.match(bg.out, /next: dab creds orders --access rw/);
  const auditor = { DAB_URL: url, DAB_TOKEN: await h.token('auditor-bob') };
  const unreviewed = await cli(['requests', 'list', '--break-glass', '--unreviewed', '--format', 'json'], auditor);
  const [use] = JSON.parse(unreviewed.out);
  t.equal(use?.breakGlass, true);
  t.equal((await cli(['requests', 'review', use.id, '--version', String(use.version)], dba)).code, 2, '--note is required');
  const reviewed = await cli(['requests', 'review', use.id, '--version', String(use.version), '--note', 'justified'], dba);
  t.equal(reviewed.code, 0, reviewed.err);
  t.match(reviewed.out, /break-glass \(reviewed\)/);
});

t.test('usage', async (t) => {
  t.match((await cli(['request', '--help'])).out, /^Usage: dab request/);
  t.match((await cli(['requests', '--help'])).out, /^Usage: dab requests/);
  t.match((await cli(['--help'])).out, /approve +Approve a pending access request/);
  t.equal((await cli(['request', 'orders', '-a', 'rw', '-r', 'x'], app)).code, 2, '--duration is required');
  t.equal((await cli(['request', 'orders', '-a', 'rw', '-d', '1h'], app)).code, 2, '--reason is required');
  t.equal((await cli(['requests', 'frobnicate'], app)).code, 2);
  const tooLong = await cli(['request', 'orders', '-a', 'rw', '-r', 'x', '-d', '2h'], app);
  t.equal(tooLong.code, 2);
  t.match(tooLong.err, /duration_too_long/);
});
