import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import t from 'tap';
import { awsCredsLine, instructions } from '../../src/cli/sandbox-command.js';
import { SANDBOX_EC2_APP, startSandbox } from '../../src/sandbox/sandbox.js';

// Issue 12's "done": an app with nothing but AWS credentials gets a working token through dab.
// The sandbox's printed `dab creds demo --access ro --aws` line runs as printed, in a shell whose
// environment holds nothing of dab (no DAB_URL, no DAB_TOKEN), and its token logs in at the gate.

const dataDir = mkdtempSync(join(tmpdir(), 'dab-e2e-aws-'));
const sandbox = await startSandbox({ port: 0, dataDir, logLevel: 'silent' });
t.teardown(async () => {
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});
// This checkout's CLI from source, as tap runs it (the printed "dab" is tested in sandbox-print).
const tsLoader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
const dab = [process.execPath, ...tsLoader, fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))].join(' ');
const run = (line: string) => promisify(execFile)('/bin/sh', ['-c', line], { env: { PATH: process.env.PATH ?? '', HOME: dataDir }, timeout: 60_000 });

t.test('the printed --aws line, run as printed, gets ro credentials that log in', async (t) => {
  const line = awsCredsLine(sandbox, dab);
  t.ok(instructions(sandbox, dab).includes(line), 'the line is among the printed steps');
  const { stdout } = await run(line);
  const creds = JSON.parse(stdout) as { user: string; token: string; host: string; port: number; dbname: string };
  t.equal(creds.user, 'oltp_ro_user');
  const client = new pg.Client({ host: creds.host, port: creds.port, user: creds.user, password: creds.token, database: creds.dbname, ssl: { rejectUnauthorized: false } });
  await client.connect();
  t.teardown(() => client.end().catch(() => undefined));
  t.equal((await client.query('SELECT count(*)::int AS n FROM pgdemo.products')).rows[0].n, 3);

  const auditor = { authorization: `Bearer ${sandbox.tokens.auditor}` };
  const events = (await (await fetch(`${sandbox.dabUrl}/v1/audit/events?eventType=credential.issued&subject=${encodeURIComponent(SANDBOX_EC2_APP.roleArn)}`, { headers: auditor })).json()) as { items: Array<{ awsCaller: unknown; actor: { issuer: string } }> };
  t.match(events.items[0], { actor: { issuer: 'aws' }, awsCaller: { arn: SANDBOX_EC2_APP.stsArn, account: SANDBOX_EC2_APP.account, sessionName: 'i-0123456789abcdef0' } });
});

t.test('the EC2 app is mapped to ro only', async (t) => {
  const line = awsCredsLine(sandbox, dab).replace('--access ro', '--access rw');
  await t.rejects(run(line), { code: 5, stderr: /access denied: you have no rw mapping on "demo"/ });
});

t.test('credentials STS does not know are refused as an unauthenticated caller', async (t) => {
  const line = awsCredsLine(sandbox, dab).replace(/AWS_SECRET_ACCESS_KEY=\S+/, 'AWS_SECRET_ACCESS_KEY=wrong');
  await t.rejects(run(line), { code: 6, stderr: /dab rejected your AWS proof.*SignatureDoesNotMatch/ });
});

t.test('a wrong --aws-server-id is a proof for another dab', async (t) => {
  await t.rejects(run(`${awsCredsLine(sandbox, dab)} --aws-server-id another-dab`), { code: 6, stderr: /SignatureDoesNotMatch/ });
});
