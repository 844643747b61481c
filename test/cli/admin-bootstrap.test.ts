import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { adminBootstrapCommand, adminCheckCommand } from '../../src/cli/admin-bootstrap-command.js';
import { CliError, EXIT, type CliIo } from '../../src/cli/cli-errors.js';
import { ACCOUNT, EXTERNAL_ID, ROLE_RO, startHarness } from '../support/harness.js';

const h = await startHarness(t);
await h.registerOrders({ resourceId: 'db-CLITEST0123' });
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { DAB_URL: url, DAB_TOKEN: await h.adminToken() };

/** Runs a command function as runCli would: output captured, CliError → its exit code and one stderr line. */
async function run(command: (args: string[], io: CliIo) => Promise<void>, args: string[], environment: Record<string, string> = env) {
  const out: string[] = [];
  const err: string[] = [];
  let code: number = EXIT.ok;
  try {
    await command(args, { out: (s) => out.push(s), err: (s) => err.push(s), env: environment });
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    err.push(`dab: ${e.message}`);
    code = e.exitCode;
  }
  return { code, out: out.join('\n'), err: err.join('\n') };
}

t.test('bootstrap prints the SQL and each role\'s policies; warnings go to stderr', async (t) => {
  const res = await run(adminBootstrapCommand, ['orders', '--schema', 'public', '--schema', 'sales']);
  t.equal(res.code, 0, res.err);
  t.match(res.out, /^=== orders\.sql \(run as the master user, connected to the database\) ===\n-- dab bootstrap for database orders/);
  t.match(res.out, /GRANT USAGE ON SCHEMA "sales" TO "orders_ro_role";/);
  t.match(res.out, new RegExp(`=== orders-ro-trust\\.json \\(trust policy of ${ROLE_RO}, levels ro; \\d+ characters\\) ===\\n\\{\\n  "Version": "2012-10-17"`));
  t.match(res.out, `"arn:aws:rds-db:us-east-1:${ACCOUNT}:dbuser:db-CLITEST0123/orders_ro"`);
  t.match(res.err, /^warning: sts\.brokerRoleArn is not configured/m, 'the placeholder is called out');
  t.notMatch(res.out, /^warning/m);
});

t.test('bootstrap --out writes one file per artifact', async (t) => {
  const dir = `${t.testdir()}/iam`;
  const res = await run(adminBootstrapCommand, ['orders', '--out', dir]);
  t.equal(res.code, 0, res.err);
  t.same(readdirSync(dir).sort(), [
    'orders-dab-permissions.json', 'orders-dab-trust.json', 'orders-ro-permissions.json', 'orders-ro-trust.json',
    'orders-rw-permissions.json', 'orders-rw-trust.json', 'orders.sql',
  ]);
  t.match(res.out, /^wrote .*\/orders\.sql/m);
  const trust = JSON.parse(readFileSync(`${dir}/orders-ro-trust.json`, 'utf8'));
  t.same(trust.Statement[0].Condition, { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } });
  t.same(JSON.parse(readFileSync(`${dir}/orders-rw-permissions.json`, 'utf8')).Statement[0].Resource, [`arn:aws:rds-db:us-east-1:${ACCOUNT}:dbuser:db-CLITEST0123/orders_rw`]);
  t.match(readFileSync(`${dir}/orders.sql`, 'utf8'), /^-- dab bootstrap for database orders/);
});

t.test('bootstrap of an ElastiCache cache: the AWS CLI commands instead of SQL', async (t) => {
  await h.app.inject({
    method: 'POST', url: '/v1/databases', headers: { authorization: `Bearer ${await h.adminToken()}` },
    payload: { name: 'sessions', engine: 'valkey', host: 'master.sessions.abc123.use1.cache.amazonaws.com', region: 'us-east-1', cacheName: 'sessions', roleArn: ROLE_RO, levels: { ro: { dbUser: 'sessions-ro', accessString: 'on ~* -@all +@read' } } },
  });
  const res = await run(adminBootstrapCommand, ['sessions']);
  t.equal(res.code, 0, res.err);
  t.match(res.out, /^=== sessions\.sh \(AWS CLI commands, run with credentials of the cache's account\) ===\n# ElastiCache users for "sessions"/);
  t.notMatch(res.out, /sessions\.sql/);
  t.match(res.out, `"arn:aws:elasticache:us-east-1:${ACCOUNT}:user:sessions-ro"`);
  const dir = `${t.testdir()}/iam`;
  t.equal((await run(adminBootstrapCommand, ['sessions', '--out', dir])).code, 0);
  t.same(readdirSync(dir).sort(), ['orders-ro-permissions.json', 'orders-ro-trust.json', 'sessions.sh']);
  t.match(readFileSync(`${dir}/sessions.sh`, 'utf8'), /aws elasticache create-user --engine valkey --user-id sessions-ro/);
});

t.test('bootstrap: usage and refusals', async (t) => {
  t.match(await run(adminBootstrapCommand, []), { code: EXIT.usage, err: /name the DATABASE/ });
  t.match(await run(adminBootstrapCommand, ['a', 'b']), { code: EXIT.usage, err: /one DATABASE only/ });
  t.match(await run(adminBootstrapCommand, ['orders', '--bogus']), { code: EXIT.usage, err: /Unknown option '--bogus'/ });
  t.match(await run(adminBootstrapCommand, ['nope']), { code: EXIT.failure, err: /cannot read the bootstrap of database "nope": no database named "nope"/ });
  t.match(await run(adminBootstrapCommand, ['orders', '--schema', 'x'.repeat(64)]), { code: EXIT.usage, err: /validation_failed/ });
  t.match(await run(adminBootstrapCommand, ['orders'], { DAB_URL: url, DAB_TOKEN: await h.token('app-orders') }), { code: EXIT.denied, err: /needs a DBA's \(admin\) token/ });
  t.match(await run(adminBootstrapCommand, ['orders'], { DAB_TOKEN: env.DAB_TOKEN }), { code: EXIT.usage, err: /pass --url or set DAB_URL/ });
});

t.test('check prints a line per step and exits 0 when nothing failed', async (t) => {
  const res = await run(adminCheckCommand, ['orders', '--no-login']);
  t.equal(res.code, 0, res.err);
  const lines = res.out.split('\n');
  t.equal(lines.length, 7);
  t.match(lines[0], /^ro       assume_role  ok  assumed arn:aws:iam::\d+:role\/orders-ro as session /);
  t.match(lines[5], /^monitor  mint_token   ok  signed an IAM auth token for orders_monitor/);
  t.equal(lines[6], 'orders: no step failed (6 of 6 ok)');
});

t.test('check: a login dab cannot reach is skipped; a failed step exits 1', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  await h.registerOrders({ name: 'local', host: '127.0.0.1', port, sslmode: 'require', levels: { ro: { dbUser: 'local_ro', roleArn: ROLE_RO } } });
  const skipped = await run(adminCheckCommand, ['local']);
  t.equal(skipped.code, 0, skipped.err);
  t.match(skipped.out, /^ro  login        skipped  not reachable from dab: ECONNREFUSED/m);
  t.match(skipped.out, /local: no step failed \(2 of 3 ok, 1 skipped\)$/);

  const legacy = `arn:aws:iam::${ACCOUNT}:role/legacy-trust`;
  h.sts.addRole({ arn: legacy, externalId: EXTERNAL_ID, allowSourceIdentity: false });
  await h.registerOrders({ name: 'legacy', roleArn: legacy, levels: { ro: { dbUser: 'legacy_ro' } } });
  const failed = await run(adminCheckCommand, ['legacy', '--no-login']);
  t.equal(failed.code, EXIT.failure);
  t.match(failed.out, new RegExp(`^ro  assume_role  failed   the trust policy of ${legacy} lacks sts:SetSourceIdentity`, 'm'));
  t.match(failed.out, /^ro  mint_token   skipped  not tried: assume_role did not succeed$/m);
  t.equal(failed.err, 'dab: legacy: 1 of 2 steps failed, 1 skipped; see the messages above');
  for (const s of h.sts.issuedSessions) t.notOk(failed.out.includes(s.sessionToken) || skipped.out.includes(s.secretAccessKey));

  t.match(await run(adminCheckCommand, ['nope']), { code: EXIT.failure, err: /cannot check database "nope": no database named "nope"/ });
});
