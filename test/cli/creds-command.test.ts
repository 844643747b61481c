import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { cli } from '../support/run-cli.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';


const h = await startHarness(t);
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
await h.registerOrders({ name: 'shop', engine: 'mysql', host: 'shop.cluster-abc123.us-east-1.rds.amazonaws.com', port: 3306, dbname: 'shop', sslmode: 'verify-full', levels: { ro: { dbUser: 'shop_ro' } } });
await h.map('app-orders', 'shop', ['ro']);
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

t.test('MySQL formats: env lines for mysql/mariadb, an option file, a mysql:// URI, the token', async (t) => {
  const grant = JSON.parse((await cli(['creds', 'shop', '-a', 'ro'], env)).out);
  t.match(grant, { engine: 'mysql', user: 'shop_ro', port: 3306, dbname: 'shop', sslmode: 'verify-full' });
  const lines = (await cli(['creds', 'shop', '-a', 'ro', '--format', 'env'], env)).out;
  t.match(lines, /^export MYSQL_HOST='shop\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com'$/m);
  t.match(lines, /^export MYSQL_TCP_PORT='3306'$/m);
  t.match(lines, /^export MYSQL_PWD='shop\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com:3306\/\?Action=connect&DBUser=shop_ro&/m);
  t.match(lines, /^export LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN='1'$/m);
  t.match(lines, /^export DAB_DB_USER='shop_ro'$/m);
  t.notMatch(lines, /PGHOST/);
  const cnf = (await cli(['creds', 'shop', '-a', 'ro', '--format', 'cnf'], env)).out.split('\n');
  t.same(cnf.slice(0, 3), ['[client]', 'host=shop.cluster-abc123.us-east-1.rds.amazonaws.com', 'port=3306']);
  t.ok(cnf.includes('user="shop_ro"') && cnf.includes('loose-enable-cleartext-plugin') && cnf.includes('loose-ssl-mode=VERIFY_IDENTITY') && cnf.includes('loose-ssl-verify-server-cert'));
  t.ok(cnf.some((l) => /^password="shop\.cluster.*X-Amz-Signature=[0-9a-f]{64}.*"$/.test(l)), 'the token, quoted');
  const uri = new URL((await cli(['creds', 'shop', '-a', 'ro', '--format', 'uri'], env)).out);
  t.equal(uri.protocol, 'mysql:');
  t.equal(uri.username, 'shop_ro');
  t.equal(uri.pathname, '/shop');
  t.equal(uri.searchParams.get('auth-method'), 'mysql_clear_password', 'the cleartext hint');
  t.equal(uri.searchParams.get('ssl-mode'), 'VERIFY_IDENTITY');
  t.match(decodeURIComponent(uri.password), /^shop\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com:3306\/\?Action=connect&DBUser=shop_ro&/);
  t.match((await cli(['creds', 'shop', '-a', 'ro', '--format', 'token'], env)).out, /^shop\.cluster.*X-Amz-Signature=[0-9a-f]{64}/);
  const wrong = await cli(['creds', 'shop', '-a', 'ro', '--format', 'pgpass'], env);
  t.equal(wrong.code, 2);
  t.match(wrong.err, /--format pgpass is not offered for engine mysql; its formats: json, env, cnf, uri, token/);
  t.match((await cli(['creds', '--help'], env)).out, /mysql \(RDS\/Aurora MySQL and RDS MariaDB\):\n\s+env/);
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
    { argv: ['creds', 'orders', '-a', 'ro', '--url', 'http://127.0.0.1:1'], env: { DAB_TOKEN: token }, code: 4, message: /cannot reach dab at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\).*is dab running/ },
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

t.test("the CLI keeps the server's word: detail printed, hints only where they are right", async (t) => {
  await h.map('needs-reason', 'orders', ['ro'], { requireReason: true });
  const reason = await cli(['creds', 'orders', '-a', 'ro'], { DAB_URL: url, DAB_TOKEN: await h.token('needs-reason') });
  t.equal(reason.code, 5);
  t.match(reason.err, /^dab: dab needs a reason for ro on "orders": this access requires a reason.*; run it again with --reason TEXT/);
  t.notMatch(reason.err, /no ro mapping|ask a DBA/, 'reason_required is not "you have no mapping"');
  t.equal((await cli(['creds', 'orders', '-a', 'ro', '-r', 'ticket 7'], { DAB_URL: url, DAB_TOKEN: await h.token('needs-reason') })).code, 0);

  const auditor = await cli(['creds', 'orders', '-a', 'ro'], { DAB_URL: url, DAB_TOKEN: await h.token(AUDITOR_SUBJECT) });
  t.equal(auditor.code, 5);
  t.match(auditor.err, /^dab: dab refused \(forbidden\): auditors cannot get database credentials/);
  t.notMatch(auditor.err, /mapping|ask a DBA/, "an auditor's forbidden is not a missing mapping");
});

t.test('--token-command on the command line beats DAB_TOKEN in the environment', async (t) => {
  const file = `${t.testdir()}/token`;
  writeFileSync(file, `${token}\n`);
  const res = await cli(['creds', 'orders', '-a', 'ro', '--token-command', `cat ${file}`], { DAB_URL: url, DAB_TOKEN: 'stale.token.value' });
  t.equal(res.code, 0, res.err);
  const flag = await cli(['creds', 'orders', '-a', 'ro', '--token', token], { DAB_URL: url, DAB_TOKEN: 'stale.token.value', DAB_TOKEN_COMMAND: 'exit 1' });
  t.equal(flag.code, 0, '--token beats both variables');
  const envOnly = await cli(['creds', 'orders', '-a', 'ro'], { DAB_URL: url, DAB_TOKEN: token, DAB_TOKEN_COMMAND: 'exit 1' });
  t.equal(envOnly.code, 0, 'DAB_TOKEN still beats DAB_TOKEN_COMMAND');
  const failed = await cli(['creds', 'orders', '-a', 'ro', '--token-command', 'exit 3'], { DAB_URL: url, DAB_TOKEN: token });
  t.match(failed.err, /^dab: the token command failed \(exit 3\): check --token-command$/);
});

t.test('no internal error class names reach the user', async (t) => {
  // A server that answers 200 with HTML (a proxy's page) and one that never answers.
  const { createServer } = await import('node:http');
  const html = createServer((_req, res) => res.end('<html>hello</html>')).listen(0, '127.0.0.1');
  const silent = createServer(() => undefined).listen(0, '127.0.0.1');
  await Promise.all([once(html, 'listening'), once(silent, 'listening')]);
  t.teardown(() => {
    html.close();
    silent.closeAllConnections();
    silent.close();
  });
  const at = (s: typeof html) => `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  const notJson = await cli(['creds', 'orders', '-a', 'ro', '--url', at(html)], { DAB_TOKEN: token });
  t.equal(notJson.code, 1);
  t.match(notJson.err, /answered with something that is not JSON: is the URL really dab\?/);
  const timeout = await cli(['creds', 'orders', '-a', 'ro', '--url', at(silent), '--timeout', '0.3'], { DAB_TOKEN: token });
  t.equal(timeout.code, 4);
  t.match(timeout.err, /cannot reach dab at .* \(no answer in time\)/);
  for (const res of [notJson, timeout]) t.notMatch(res.err, /\b(TypeError|SyntaxError|TimeoutError|AbortError|AppError|FetchError|DOMException|Error:)/);
});

t.test('-f is --file everywhere: the old creds spelling names the new flag', async (t) => {
  const res = await cli(['creds', 'orders', '-a', 'ro', '-f', 'env'], env);
  t.equal(res.code, 2);
  t.match(res.err, /unknown option -f here: -f is --file.*use --format/);
});

t.test('dab --version prints package.json\'s version', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) t.same(await cli([flag]), { code: 0, out: `dab ${version}`, err: '' });
});
