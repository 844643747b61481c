import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import t, { type Test } from 'tap';
import { redisCliLine } from '../../src/cli/sandbox-command.js';
import { requestCredentials } from '../../src/client/dab-client.js';
import { dabRedisCredentials, dabRedisOptions } from '../../src/client/redis-credentials.js';
import { DEMO_CACHE } from '../../src/sandbox/resp/demo-cache.js';
import type { RespGateLogEvent } from '../../src/sandbox/resp/resp-gate.js';
import { startSandbox } from '../../src/sandbox/sandbox.js';
import { parseElastiCacheToken } from '../../src/sandbox/sigv4.js';
import { elastiCacheOracleToken } from '../aws/elasticache-signer-oracle.js';
import { cli } from '../support/run-cli.js';

// The whole chain for ElastiCache: dab mints, node-redis (and redis-cli) log in through the
// ElastiCache-like gate to a real Redis, and the level's access string decides what they may do.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dab-e2e-cache-'));
let gateOffsetMs = 0;
const events: RespGateLogEvent[] = [];
const sandbox = await startSandbox({
  port: 0, dataDir: join(dir, 'store'), cacheCaFile: join(dir, 'ca.pem'), logLevel: 'silent',
  gateNow: () => new Date(Date.now() + gateOffsetMs), cacheLog: (e) => events.push(e),
});
t.teardown(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});
const cache = sandbox.cache!;
const creds = (access: 'ro' | 'rw') => requestCredentials({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: DEMO_CACHE.name, access, reason: 'e2e' });

type Client = ReturnType<typeof createClient>;
async function login(user: string, token: string): Promise<Client> {
  const c = createClient({ username: user, password: token, socket: { host: cache.gate.host, port: cache.gate.port, tls: true, ca: cache.gate.certificatePem, reconnectStrategy: false } }) as Client;
  c.on('error', () => {});
  await c.connect();
  t.teardown(() => c.destroy());
  return c;
}
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

/** Refused as ElastiCache refuses it, and the gate's log says why (never to the client). */
async function refused(t: Test, user: string, token: string, reason: string) {
  const before = events.length;
  t.equal(await login(user, token).then(() => 'logged in', (e: Error) => e.message), WRONGPASS, reason);
  t.ok(events.slice(before).some((e) => e.event === 'auth_failed' && e.reason === reason), `gate reason ${reason}`);
}

t.test('ro can GET but not SET; rw can SET', async (t) => {
  const ro = await creds('ro');
  t.match(ro, { user: DEMO_CACHE.users.ro, cacheName: DEMO_CACHE.name, host: cache.gate.host, port: cache.gate.port, tls: 'require' });
  const roClient = await login(ro.user, ro.token);
  t.equal(await roClient.get(DEMO_CACHE.key), 'hello from the dab sandbox');
  t.match(await roClient.set(DEMO_CACHE.key, 'x').catch((e: Error) => e.message), /^NOPERM .*'set' command/);
  const rw = await creds('rw');
  const rwClient = await login(rw.user, rw.token);
  t.equal(await rwClient.set('demo:e2e', 'written by rw'), 'OK');
  t.equal(await roClient.get('demo:e2e'), 'written by rw', 'ro sees what rw wrote');
  t.match(await rwClient.get('outside:key').catch((e: Error) => e.message), /^NOPERM/, 'the access string limits keys to demo:*');
});

t.test('expired, tampered, other-user and other-cache tokens are refused', async (t) => {
  const ro = await creds('ro');
  const parsed = parseElastiCacheToken(ro.token)!;
  const flipped = parsed.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  await refused(t, ro.user, ro.token.replace(parsed.signature, flipped), 'signature_mismatch');
  await refused(t, DEMO_CACHE.users.rw, ro.token, 'wrong_user');
  // Holding the ro role's session cannot make a token for the rw user: the role's policy says no.
  const session = sandbox.sts.findSession(parsed.accessKeyId)!;
  const request = { cacheName: DEMO_CACHE.name, serverless: false, region: ro.region, credentials: session };
  await refused(t, DEMO_CACHE.users.rw, await elastiCacheOracleToken({ ...request, user: DEMO_CACHE.users.rw }), 'elasticache_connect_not_allowed');
  await refused(t, ro.user, await elastiCacheOracleToken({ ...request, user: ro.user, cacheName: 'other-cache' }), 'wrong_cache');
  await refused(t, ro.user, await elastiCacheOracleToken({ ...request, user: ro.user, serverless: true }), 'wrong_resource_type');
  gateOffsetMs = 16 * 60_000;
  await refused(t, ro.user, ro.token, 'expired');
  gateOffsetMs = 0;
});

t.test('the printed redis-cli line works verbatim with the env lines dab creds prints', async (t) => {
  const env = { DAB_URL: sandbox.dabUrl, DAB_TOKEN: sandbox.tokens.app };
  const lines = await cli(['creds', DEMO_CACHE.name, '--access', 'ro', '--format', 'env'], env);
  t.equal(lines.code, 0, lines.err);
  // `dab` in the printed line is this shell function: the dab CLI's own output, printed as it printed it.
  const shell = (access: 'ro' | 'rw', command: string, out: string) =>
    run('bash', ['-c', `dab() { printf '%s\\n' "$DAB_OUT"; }\n${redisCliLine(cache.caFile, 'dab', access, command)}`], { env: { ...process.env, DAB_OUT: out } });
  t.equal((await shell('ro', `GET ${DEMO_CACHE.key}`, lines.out)).stdout, 'hello from the dab sandbox\n');
  t.match((await shell('ro', 'SET demo:cli x', lines.out)).stdout, /^NOPERM .*'set' command/);
  const rw = await cli(['creds', DEMO_CACHE.name, '--access', 'rw', '--format', 'env'], env);
  t.equal((await shell('rw', 'SET demo:cli x', rw.out)).stdout, 'OK\n');
});

t.test('the node-redis helper: fresh tokens for new connections, re-authentication on open ones', async (t) => {
  let clock = Date.now();
  const options = await dabRedisOptions({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: DEMO_CACHE.name, access: 'ro', now: () => clock, reauthenticateAfterMs: 150, tls: { ca: cache.gate.certificatePem } });
  const client = createClient(options);
  client.on('error', () => {});
  await client.connect();
  t.teardown(() => client.destroy());
  t.equal(await client.get(DEMO_CACHE.key), 'hello from the dab sandbox');
  const first = options.credentialsProvider.current()!.grantId;
  const reauths = () => events.filter((e) => e.event === 'reauthorized' && e.user === DEMO_CACHE.users.ro).length;
  clock += 15 * 60_000; // the grant is past its refresh point: the next re-authentication fetches a new one
  while (reauths() < 2) await new Promise((r) => setTimeout(r, 50));
  t.not(options.credentialsProvider.current()!.grantId, first, 'a new grant was fetched for the re-authentication');
  t.equal(await client.get(DEMO_CACHE.key), 'hello from the dab sandbox', 'the connection is still good after re-authenticating');

  const provider = dabRedisCredentials({ url: sandbox.dabUrl, bearer: sandbox.tokens.app, database: DEMO_CACHE.name, access: 'rw' });
  const second = createClient({ credentialsProvider: provider, socket: { host: cache.gate.host, port: cache.gate.port, tls: true, ca: cache.gate.certificatePem, reconnectStrategy: false } });
  second.on('error', () => {});
  await second.connect();
  t.teardown(() => second.destroy());
  t.equal(await second.set('demo:helper', 'rw via the provider'), 'OK');
  const unmapped = await sandbox.issuer.sign({ sub: 'not-mapped', groups: [] });
  const denied = dabRedisCredentials({ url: sandbox.dabUrl, bearer: unmapped, database: DEMO_CACHE.name, access: 'ro' });
  const third = createClient({ credentialsProvider: denied, socket: { host: cache.gate.host, port: cache.gate.port, tls: true, ca: cache.gate.certificatePem, reconnectStrategy: false } });
  third.on('error', () => {});
  await t.rejects(third.connect(), { name: 'DabProblemError', code: 'access_denied' }, "dab's refusal surfaces from connect()");
});


t.test('preflight: each level logs in through the gate and proves what it may do', async (t) => {
  const dba = { authorization: `Bearer ${sandbox.tokens.dba}`, 'content-type': 'application/json' };
  const check = async (name: string) => (await fetch(new URL(`/v1/databases/${name}/check`, sandbox.dabUrl), { method: 'POST', headers: dba, body: '{}' })).json() as Promise<{ ok: boolean; levels: { level: string; steps: { step: string; status: string; message: string }[] }[] }>;
  const ok = await check(DEMO_CACHE.name);
  t.equal(ok.ok, true, JSON.stringify(ok));
  const login = (r: typeof ok, level: string) => r.levels.find((l) => l.level === level)?.steps.find((s) => s.step === 'login');
  t.match(login(ok, 'ro'), { status: 'ok', message: /as demo-ro; GET works, SET is refused \(NOPERM\)$/ });
  t.match(login(ok, 'rw'), { status: 'ok', message: /as demo-rw; SET works$/ });

  // The same cache registered under another cache name: its tokens are signed for a name the gate is not.
  const current = (await (await fetch(new URL(`/v1/databases/${DEMO_CACHE.name}`, sandbox.dabUrl), { headers: dba })).json()) as Record<string, unknown>;
  const { name: _n, version: _v, createdAt: _c, updatedAt: _u, ...rest } = current;
  const created = await fetch(new URL('/v1/databases', sandbox.dabUrl), { method: 'POST', headers: dba, body: JSON.stringify({ ...rest, name: 'misnamed', cacheName: 'misnamed-cache' }) });
  t.equal(created.status, 201, await created.clone().text());
  const bad = await check('misnamed');
  t.equal(bad.ok, false);
  t.match(login(bad, 'ro'), { status: 'failed', message: /^the login was refused \(WRONGPASS .*\): check that user demo-ro exists .* the token's cache name misnamed-cache/ });
  t.notMatch(JSON.stringify(bad), /X-Amz-Signature/, 'no token in the answer');
});
