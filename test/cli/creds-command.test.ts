import { writeFileSync } from 'node:fs';
import t from 'tap';
import { cli } from '../support/run-cli.js';
import { startHarness } from '../support/harness.js';


const h = await startHarness(t);
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const token = await h.token('app-orders');
const env = { DAB_URL: url, DAB_TOKEN: token };

t.test('formats', async (t) => {
  const json = await cli(['creds', 'orders', '--access', 'ro', '--reason', 'cli test'], env);
  t.equal(json.code, 0, json.err);
  const grant = JSON.parse(json.out);
  t.equal(grant.user, 'orders_ro');
  const [row] = await h.auditRows('event_id = $1', [grant.grantId]);
  t.equal(row?.caller_reason, 'cli test');

  const envOut = await cli(['creds', 'orders', '-a', 'ro', '--format', 'env'], env);
  t.match(envOut.out, /^export PGHOST='orders\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com'$/m);
  for (const name of ['PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE']) t.match(envOut.out, new RegExp(`^export ${name}='[^']+'$`, 'm'));

  const uri = new URL((await cli(['creds', 'orders', '-a', 'ro', '--format', 'uri'], env)).out);
  t.equal(uri.protocol, 'postgresql:');
  t.equal(uri.username, 'orders_ro');
  t.match(decodeURIComponent(uri.password), /^orders\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=orders_ro&/);
  t.equal(uri.searchParams.get('sslmode'), 'verify-full');

  const pgpass = (await cli(['creds', 'orders', '-a', 'ro', '--format', 'pgpass'], env)).out;
  t.match(pgpass, /^orders\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com:5432:orders:orders_ro:orders\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com\\:5432\/\?Action=connect/);
  t.match((await cli(['creds', 'orders', '-a', 'ro', '--format', 'token'], env)).out, /^orders\.cluster.*X-Amz-Signature=[0-9a-f]{64}/);
});

t.test('the caller token can come from a command', async (t) => {
  const file = `${t.testdir()}/token`;
  writeFileSync(file, `${token}\n`);
  const res = await cli(['creds', 'orders', '-a', 'ro'], { DAB_URL: url, DAB_TOKEN_COMMAND: `cat ${file}` });
  t.equal(res.code, 0, res.err);
  const broken = await cli(['creds', 'orders', '-a', 'ro'], { DAB_URL: url, DAB_TOKEN_COMMAND: 'exit 3' });
  t.equal(broken.code, 1);
  t.match(broken.err, /^dab: the token command failed .*DAB_TOKEN_COMMAND$/);
});

t.test('errors are one line, say what to do, and have distinct exit codes', async (t) => {
  const cases: Array<{ argv: string[]; env?: Record<string, string>; code: number; message: RegExp }> = [
    { argv: ['creds', 'orders'], code: 2, message: /--access must be ro, rw or monitor/ },
    { argv: ['creds', 'orders', '-a', 'admin'], code: 2, message: /--access must be/ },
    { argv: ['creds', '-a', 'ro'], code: 2, message: /name exactly one database/ },
    { argv: ['creds', 'orders', '-a', 'ro', '--bogus'], code: 2, message: /Unknown option '--bogus'/ },
    { argv: ['creds', 'orders', '-a', 'ro', '--format', 'yaml'], code: 2, message: /--format must be one of/ },
    { argv: ['creds', 'orders', '-a', 'ro'], env: { DAB_TOKEN: token }, code: 2, message: /pass --url or set DAB_URL/ },
    { argv: ['creds', 'orders', '-a', 'ro', '--url', 'not a url'], env: { DAB_TOKEN: token }, code: 2, message: /not a URL/ },
    { argv: ['creds', 'orders', '-a', 'ro'], env: { DAB_URL: url }, code: 2, message: /no caller token/ },
    { argv: ['creds', 'orders', '-a', 'ro', '--url', 'http://127.0.0.1:1'], env: { DAB_TOKEN: token }, code: 4, message: /cannot reach dab at http:\/\/127\.0\.0\.1:1.*is dab running/ },
    { argv: ['creds', 'orders', '-a', 'rw'], env, code: 5, message: /access denied: you have no rw mapping on "orders"; ask a DBA/ },
    { argv: ['creds', 'orders', '-a', 'ro', '--token', 'a.b.c'], env: { DAB_URL: url }, code: 6, message: /dab rejected your caller token/ },
    { argv: ['frobnicate'], code: 2, message: /unknown command "frobnicate"/ },
    { argv: ['serve'], code: 3, message: /config auth: is required|config auth\b/ },
  ];
  for (const c of cases) {
    const res = await cli(c.argv, c.env ?? {});
    t.equal(res.code, c.code, `${c.argv.join(' ')}: exit ${c.code} (${res.err})`);
    t.match(res.err, c.message);
    t.equal(res.err.split('\n').length, 1, 'one line');
    t.notOk(res.err.includes('    at '), 'no stack trace');
  }
});

t.test('dab unavailable (STS throttled) is exit 7 with the retry hint', async (t) => {
  h.sts.injectFault('throttle', Infinity);
  t.teardown(() => h.sts.clearFaults());
  const res = await cli(['creds', 'orders', '-a', 'ro'], { ...env, DAB_TOKEN: await h.token('someone-new') });
  t.equal(res.code, 5, 'no mapping is decided before STS is asked');
  await h.map('someone-new', 'orders', ['ro']);
  const again = await cli(['creds', 'orders', '-a', 'ro'], { ...env, DAB_TOKEN: await h.token('someone-new') });
  t.equal(again.code, 7);
  t.match(again.err, /sts_unavailable.*retry in \d+ s/);
});

t.test('--help works on every command', async (t) => {
  for (const argv of [['--help'], ['creds', '--help'], ['serve', '--help'], ['migrate', '--help'], ['sandbox', '--help'], ['start', '--help']]) {
    const res = await cli(argv);
    t.equal(res.code, 0, argv.join(' '));
    t.match(res.out, /Usage: dab/);
  }
});
