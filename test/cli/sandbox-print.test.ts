import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { dabCommand, instructions, redisCliLine } from '../../src/cli/sandbox-command.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';

// The sandbox prints commands that must work as printed in a second shell, on a fresh machine:
// "dab" only when that is this install on PATH (npm link), else node with main.js's path, never
// "npx dab" (which copies the project and rebuilds it, 15-21 s).

/** What instructions() reads of a running sandbox (the PostgreSQL side only). */
const FAKE_SANDBOX = {
  dabUrl: 'http://127.0.0.1:8080',
  issuer: { issuer: 'http://127.0.0.1:1/issuer' },
  sts: { url: 'http://127.0.0.1:2' },
  gate: { host: '127.0.0.1', port: 3 },
  target: { kind: 'throwaway' },
  tokens: { app: 'a', dba: 'd', auditor: 'u' },
  ec2App: { accessKeyId: 'ASIAEC2', secretAccessKey: 'secret', sessionToken: 'token' },
};

t.test('dab when this install is on PATH, else node with the absolute main.js', async (t) => {
  const dir = t.testdir();
  const main = join(dir, 'dist/src/cli/main.js');
  mkdirSync(join(dir, 'dist/src/cli'), { recursive: true });
  writeFileSync(main, '#!/usr/bin/env node\n');
  chmodSync(main, 0o755);
  for (const bin of ['linked', 'other', 'empty']) mkdirSync(join(dir, bin));
  symlinkSync(main, join(dir, 'linked/dab'));
  writeFileSync(join(dir, 'other/dab'), '#!/bin/sh\n');
  chmodSync(join(dir, 'other/dab'), 0o755);

  t.equal(dabCommand(`${join(dir, 'empty')}:${join(dir, 'linked')}`, main), 'dab', 'npm link put this install on PATH');
  t.equal(dabCommand(join(dir, 'other'), main), `node ${main}`, 'another dab first on PATH is not this one');
  t.equal(dabCommand('', main), `node ${main}`, 'nothing on PATH');
  t.equal(dabCommand('', "/opt/my dab/main.js"), "node '/opt/my dab/main.js'", 'a path with a space is quoted');
});

t.test('the printed steps use that command and never npx', async (t) => {
  const sandbox = FAKE_SANDBOX as unknown as Sandbox;
  const viaNode = instructions(sandbox, 'node /x/dist/src/cli/main.js');
  t.match(viaNode, /^node \/x\/dist\/src\/cli\/main\.js creds demo --access ro --reason "trying dab"$/m);
  t.match(viaNode, /^eval "\$\(node \/x\/dist\/src\/cli\/main\.js creds demo --access ro --format env\)"/m);
  t.match(viaNode, /"npm link" in the dab folder puts it on PATH/);
  // Only AWS_* variables and the URL: it works from a shell that has no DAB_* set (test/e2e/aws-caller-login.test.ts runs it).
  t.match(viaNode, /^AWS_ACCESS_KEY_ID=ASIAEC2 AWS_SECRET_ACCESS_KEY=secret AWS_SESSION_TOKEN=token AWS_REGION=us-east-1 AWS_ENDPOINT_URL_STS=http:\/\/127\.0\.0\.1:2 AWS_EC2_METADATA_DISABLED=true node \/x\/dist\/src\/cli\/main\.js creds demo --access ro --aws --url http:\/\/127\.0\.0\.1:8080$/m);
  const linked = instructions(sandbox, 'dab');
  t.match(linked, /^dab creds demo --access ro --reason "trying dab"$/m);
  t.notMatch(linked, /npm link/);
  t.notMatch(viaNode + linked, /npx/);
  t.notMatch(viaNode, /mariadb/, 'no MySQL demo, no MySQL line');
});

t.test('with the MySQL demo: a mariadb line reading the option file dab creds prints', async (t) => {
  const sandbox = { ...FAKE_SANDBOX, mysql: { dbname: 'dab_demo_1', gate: { host: '127.0.0.1', port: 4 }, users: {} } } as unknown as Sandbox;
  const text = instructions(sandbox, 'node /x/dist/src/cli/main.js');
  t.match(text, /^mariadb --defaults-extra-file=<\(node \/x\/dist\/src\/cli\/main\.js creds demo-mysql --access ro --format cnf\) -e 'SELECT \* FROM products'$/m);
  t.match(text, /"demo-mysql": MariaDB \(database dab_demo_1\) behind the MySQL IAM gate at 127\.0\.0\.1:4/);
  t.match(instructions({ ...sandbox, mysql: undefined, mysqlProblem: 'no MySQL demo: connect ECONNREFUSED' } as unknown as Sandbox), /no MySQL demo: connect ECONNREFUSED/);
});

t.test('the redis-cli line for the demo cache: token from the env lines, the gate certificate checked', async (t) => {
  const base = FAKE_SANDBOX;
  const cache = { gate: { host: '127.0.0.1', port: 4 }, upstream: { kind: 'throwaway' }, caFile: '/x/.dab-sandbox/demo-cache-ca.pem' };
  const withCache = instructions({ ...base, cache } as unknown as Sandbox, 'dab');
  t.match(withCache, /^ demo cache {6}"demo-cache": Redis \(throwaway redis-server\) behind the ElastiCache-like IAM gate at 127\.0\.0\.1:4 \(TLS, IAM tokens only\)$/m);
  const line = 'eval "$(dab creds demo-cache --access ro --format env)" && redis-cli --tls --cacert /x/.dab-sandbox/demo-cache-ca.pem -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$REDIS_USER" GET demo:greeting';
  t.ok(withCache.split('\n').includes(line), 'printed on a line of its own, ready to paste');
  t.equal(redisCliLine("/tmp/it's here/ca.pem", 'node /x/main.js', 'rw', 'SET demo:k v'),
    `eval "$(node /x/main.js creds demo-cache --access rw --format env)" && redis-cli --tls --cacert '/tmp/it'\\''s here/ca.pem' -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$REDIS_USER" SET demo:k v`, 'an awkward path is quoted');
  const without = instructions(base as unknown as Sandbox, 'dab');
  t.match(without, /demo cache {6}none: no redis-server installed/);
  t.notMatch(without, /redis-cli/);
});
