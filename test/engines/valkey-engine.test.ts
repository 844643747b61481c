// The valkey engine's pure parts: its token against the SDK's own presigner and the sandbox's
// independent verifier, the IAM policy, the bootstrap commands and the client formats.
import t from 'tap';
import { presign } from '../../src/aws/sigv4-presign.js';
import type { Database } from '../../src/databases/database-schema.js';
import { engineNamed } from '../../src/engines/registry.js';
import { scratchKey } from '../../src/engines/valkey/login-check.js';
import { verifyElastiCacheToken } from '../../src/sandbox/sigv4.js';
import { elastiCacheOracleToken } from '../aws/elasticache-signer-oracle.js';

const engine = engineNamed('valkey')!;
const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const session = { ...keys, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'FwoGZXIvYXdzEXAMPLE/+=token' };
const db = (over: Record<string, unknown> = {}): Database =>
  ({
    name: 'orders-cache',
    engine: 'valkey',
    host: 'master.orders-cache.abc123.euw1.cache.amazonaws.com',
    port: 6379,
    region: 'eu-west-1',
    roleArn: 'arn:aws:iam::123456789012:role/cache-ro',
    cacheName: 'orders-cache',
    serverless: false,
    tls: 'verify-full',
    levels: {
      ro: { dbUser: 'orders-ro', accessString: 'on ~* -@all +@read' },
      rw: { dbUser: 'orders-rw', roleArn: 'arn:aws:iam::123456789012:role/cache-rw', accessString: "on ~app:* -@all +@read +@write" },
    },
    version: 1,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    ...over,
  }) as unknown as Database;

t.test('tokens are byte-for-byte what the SDK presigner makes, and verify as ElastiCache checks them', async (t) => {
  const at = Date.UTC(2026, 4, 1, 14, 5, 9);
  for (const serverless of [false, true]) {
    for (const credentials of [keys, session]) {
      const d = db({ serverless });
      const ours = presign({ target: engine.tokenTarget(d, 'orders-ro'), region: 'eu-west-1', credentials }, at);
      const oracle = await elastiCacheOracleToken({ cacheName: 'orders-cache', user: 'orders-ro', serverless, region: 'eu-west-1', credentials }, new Date(at));
      const label = `serverless ${serverless}, ${'sessionToken' in credentials ? 'session' : 'long-term'} credentials`;
      t.equal(ours, oracle, label);
      const lookup = (id: string) => (id === credentials.accessKeyId ? credentials : undefined);
      t.match(verifyElastiCacheToken(ours, { cacheName: 'orders-cache', user: 'orders-ro', serverless, region: 'eu-west-1' }, lookup, { now: new Date(at + 1000) }), { ok: true }, `${label}: verifies`);
    }
  }
  const token = presign({ target: engine.tokenTarget(db(), 'orders-ro'), region: 'eu-west-1', credentials: keys }, at);
  t.match(token, /^orders-cache\/\?Action=connect&User=orders-ro&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260501%2Feu-west-1%2Felasticache%2Faws4_request&X-Amz-Date=20260501T140509Z&X-Amz-Expires=900&X-Amz-Signature=[0-9a-f]{64}&X-Amz-SignedHeaders=host$/, 'the cache name is the host; no endpoint, no port');
});

t.test('elasticache:Connect on the cache ARN and the user ARNs', async (t) => {
  const rg = engine.connectPermission(db(), 'arn:aws:iam::123456789012:role/cache-ro', ['ro']);
  t.same(rg.statements, [{
    Sid: 'DabElastiCacheConnect', Effect: 'Allow', Action: 'elasticache:Connect',
    Resource: ['arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:orders-cache', 'arn:aws:elasticache:eu-west-1:123456789012:user:orders-ro'],
  }]);
  const sl = engine.connectPermission(db({ serverless: true, region: 'cn-north-1' }), 'arn:aws-cn:iam::123456789012:role/cache-ro', ['ro', 'rw']);
  t.same(sl.statements[0]?.Resource, [
    'arn:aws-cn:elasticache:cn-north-1:123456789012:serverlesscache:orders-cache',
    'arn:aws-cn:elasticache:cn-north-1:123456789012:user:orders-ro',
    'arn:aws-cn:elasticache:cn-north-1:123456789012:user:orders-rw',
  ]);
});

t.test('bootstrap: iam users (id = name, access string), a disabled default, the group, attached', async (t) => {
  const { commands, sql, warnings } = engine.bootstrap(db(), { schemas: [] });
  t.equal(sql, undefined);
  t.same(warnings, []);
  const lines = commands!.split('\n');
  t.ok(lines.includes("aws elasticache create-user --engine valkey --user-id orders-ro --user-name orders-ro --authentication-mode Type=iam --access-string 'on ~* -@all +@read' --region eu-west-1 \\"));
  t.ok(lines.includes("  || aws elasticache modify-user --user-id orders-rw --access-string 'on ~app:* -@all +@read +@write' --region eu-west-1"), 'a re-run sets the access string');
  t.match(commands, /create-user --engine valkey --user-id orders-cache-dab-default --user-name default --authentication-mode Type=no-password-required --access-string 'off -@all'/);
  t.match(commands, /create-user-group --engine valkey --user-group-id orders-cache-dab --user-ids orders-cache-dab-default orders-ro orders-rw --region eu-west-1/);
  t.match(commands, /modify-replication-group --replication-group-id orders-cache --user-group-ids-to-add orders-cache-dab --apply-immediately --region eu-west-1$/m);
  t.match(engine.bootstrap(db({ serverless: true }), { schemas: [] }).commands, /modify-serverless-cache --serverless-cache-name orders-cache --user-group-id orders-cache-dab --region eu-west-1$/m);
  t.match(engine.bootstrap(db({ tls: 'require' }), { schemas: [] }).warnings, [/tls is require/]);
});

t.test('client formats: env for redis-cli, rediss:// URI, one redis-cli line, the bare token', async (t) => {
  const grant = { token: "tok/+= '&", user: 'orders-ro', host: 'h.example', port: 6380, cacheName: 'orders-cache', tls: 'verify-full' };
  const render = (name: string, g: Record<string, unknown> = grant) => engine.clientFormats.find((f) => f.name === name)!.render(g as typeof grant);
  t.same(engine.clientFormats.map((f) => f.name), ['env', 'uri', 'redis-cli', 'token']);
  t.equal(render('env'), `export REDISCLI_AUTH='tok/+= '\\''&'\nexport REDIS_HOST='h.example'\nexport REDIS_PORT='6380'\nexport REDIS_USER='orders-ro'\n# redis-cli --tls -h "$REDIS_HOST" -p "$REDIS_PORT" --user "$REDIS_USER"`);
  t.match(render('env', { ...grant, tls: 'require' }), /--user "\$REDIS_USER" --insecure$/);
  t.equal(render('uri'), 'rediss://orders-ro:tok%2F%2B%3D%20\'%26@h.example:6380');
  t.equal(render('redis-cli'), `REDISCLI_AUTH='tok/+= '\\''&' redis-cli --tls -h 'h.example' -p 6380 --user 'orders-ro'`);
  t.equal(render('token'), grant.token);
});

t.test('the preflight writes only a fresh key inside the level key pattern', async (t) => {
  t.equal(scratchKey('on ~* -@all +@read', 'u1'), 'dab:preflight:u1');
  t.equal(scratchKey('on allkeys +@all', 'u1'), 'dab:preflight:u1');
  t.equal(scratchKey('on ~app:* ~other:* +@write', 'u1'), 'app:dab-preflight-u1');
  t.equal(scratchKey('on %RW~cache:* +@write', 'u1'), 'cache:dab-preflight-u1');
  t.equal(scratchKey('on ~exact-key +@write', 'u1'), undefined, 'a literal key is never overwritten');
  t.equal(scratchKey('on ~a*b:* +@write', 'u1'), undefined, 'a glob in the middle');
  t.equal(scratchKey('on +@write', 'u1'), undefined, 'no key pattern');
  t.match(scratchKey('on ~*'), /^dab:preflight:[0-9a-f-]{36}$/);
});
