// The sandbox's ElastiCache token check against tokens from the SDK's own SigV4 presigner
// (test/aws/elasticache-signer-oracle.ts), signed with session credentials from the STS emulator.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import t from 'tap';
import { createElastiCacheIamCheck } from '../../src/sandbox/resp/elasticache-iam-check.js';
import { parseElastiCacheToken, verifyElastiCacheToken, type CredentialLookup } from '../../src/sandbox/sigv4.js';
import { startStsEmulator } from '../../src/sandbox/sts-emulator.js';
import { elastiCacheOracleToken } from '../aws/elasticache-signer-oracle.js';

const ROLE = 'arn:aws:iam::111122223333:role/cache-connect';
const emu = await startStsEmulator({ roles: [{ arn: ROLE }] });
const sts = new STSClient({
  endpoint: emu.url, region: 'us-east-1', credentials: emu.baseCredentials, maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true }),
});
t.teardown(async () => {
  sts.destroy();
  await emu.close();
});
const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'alice' }));
const credentials = { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
const lookup: CredentialLookup = (id) => emu.lookupCredentials(id);
const base = { cacheName: 'orders-cache', user: 'orders_ro', serverless: false, region: 'eu-west-1' };

t.test('tokens from the SDK presigner verify, for replication groups and serverless caches', async (t) => {
  const token = await elastiCacheOracleToken({ ...base, credentials });
  t.match(token, /^orders-cache\/\?Action=connect&User=orders_ro&X-Amz-Algorithm=AWS4-HMAC-SHA256&/, 'cache name as host, scheme stripped');
  const parsed = parseElastiCacheToken(token)!;
  t.match(parsed, { host: 'orders-cache', user: 'orders_ro', service: 'elasticache', region: 'eu-west-1', expiresSeconds: 900, securityToken: credentials.sessionToken });
  t.notOk('port' in parsed, 'no port in an ElastiCache token');
  const now = new Date(parsed.signedAt.getTime() + 1000);
  t.same(verifyElastiCacheToken(token, base, lookup, { now }), { ok: true, accessKeyId: credentials.accessKeyId, region: 'eu-west-1', signedAt: parsed.signedAt, expiresAt: new Date(parsed.signedAt.getTime() + 900_000) });

  const serverless = await elastiCacheOracleToken({ ...base, serverless: true, credentials });
  t.match(serverless, /[?&]ResourceType=ServerlessCache&/);
  t.ok(verifyElastiCacheToken(serverless, { ...base, serverless: true }, lookup, { now }).ok, 'serverless with ResourceType');
  t.same(verifyElastiCacheToken(serverless, base, lookup, { now }), { ok: false, reason: 'wrong_resource_type' }, 'ResourceType on a replication group');
  t.same(verifyElastiCacheToken(token, { ...base, serverless: true }, lookup, { now }), { ok: false, reason: 'wrong_resource_type' }, 'serverless cache without ResourceType (AWS: a bare WRONGPASS)');
  t.ok(verifyElastiCacheToken(await elastiCacheOracleToken({ ...base, credentials: emu.baseCredentials }), base, lookup, { now: new Date() }).ok, 'long-term keys too');
});

t.test('every tweak is refused with its reason', async (t) => {
  const token = await elastiCacheOracleToken({ ...base, credentials });
  const parsed = parseElastiCacheToken(token)!;
  const at = (s: number) => new Date(parsed.signedAt.getTime() + s * 1000);
  const now = at(1);
  const tweak = (name: string, value: string) => token.replace(new RegExp(`([?&])${name}=[^&]*`), `$1${name}=${encodeURIComponent(value)}`);
  const flipped = parsed.signature.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
  const cases: [string, string, string, Partial<typeof base>?, Date?][] = [
    ['other cache expected', 'wrong_cache', token, { cacheName: 'billing-cache' }],
    ['signed for the upper-case name', 'wrong_cache', await elastiCacheOracleToken({ ...base, cacheName: 'Orders-Cache', credentials }), {}],
    ['other user expected', 'wrong_user', token, { user: 'orders_rw' }],
    ['user swapped to match', 'signature_mismatch', tweak('User', 'orders_rw'), { user: 'orders_rw' }],
    ['cache swapped to match', 'signature_mismatch', token.replace(/^orders-cache/, 'billing-cache'), { cacheName: 'billing-cache' }],
    ['tampered signature', 'signature_mismatch', tweak('X-Amz-Signature', flipped)],
    ['other region expected', 'wrong_region', token, { region: 'us-east-1' }],
    ['rds-db scope', 'wrong_service', tweak('X-Amz-Credential', `${credentials.accessKeyId}/${parsed.date}/eu-west-1/rds-db/aws4_request`)],
    ['at expiry', 'expired', token, {}, at(900)],
    ['signed in the future', 'not_yet_valid', token, {}, at(-61)],
    ['expires 901', 'expires_too_long', await elastiCacheOracleToken({ ...base, credentials, expiresIn: 901 })],
    ['an RDS-shaped token', 'malformed', token.replace(/^orders-cache\//, 'orders-cache:6379/')],
    ['DBUser instead of User', 'malformed', token.replace('User=', 'DBUser=')],
    ['scheme not stripped', 'malformed', `http://${token}`],
    ['other action', 'malformed', tweak('Action', 'DbConnect')],
    ['empty', 'malformed', ''],
    ['session token stripped', 'session_token_mismatch', token.replace(/&X-Amz-Security-Token=[^&]*/, '')],
  ];
  for (const [label, reason, tok, exp, when] of cases) {
    t.same(verifyElastiCacheToken(tok, { ...base, ...exp }, lookup, { now: when ?? now }), { ok: false, reason }, `${label} -> ${reason}`);
  }
});

t.test('the IAM side: elasticache:Connect for the role, and an ACL user for the level', async (t) => {
  const acl = { username: 'dab_x_orders_ro', password: 'pw' };
  const check = (policy: string[], aclUser = (u: string) => (u === 'orders_ro' ? acl : undefined)) =>
    createElastiCacheIamCheck({ sts: emu, region: 'eu-west-1', cacheName: base.cacheName, serverless: false, connectPolicy: new Map([[ROLE, new Set(policy)]]), aclUser });
  const token = await elastiCacheOracleToken({ ...base, credentials });
  const req = { user: 'orders_ro', token, remoteAddress: '127.0.0.1' };
  t.same(await check(['orders_ro'])(req), { ok: true, upstream: acl });
  t.same(await check(['orders_rw'])(req), { ok: false, reason: 'elasticache_connect_not_allowed' });
  t.same(await check(['orders_ro'], () => undefined)(req), { ok: false, reason: 'no_such_user' });
  t.same(await check(['orders_ro'])({ ...req, token: await elastiCacheOracleToken({ ...base, credentials: emu.baseCredentials }) }), { ok: false, reason: 'not_a_role_session' });
});
