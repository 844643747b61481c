import t from 'tap';
import { parseElastiCacheToken, verifyElastiCacheToken } from '../../src/sandbox/sigv4.js';
import { ACCOUNT, EXTERNAL_ID, ROLE_DB, ROLE_RO, ROLE_RW, startHarness, type Harness } from '../support/harness.js';

// Registering an ElastiCache cache (engine valkey, Valkey and Redis OSS alike): what it needs, what
// is refused (400 naming the field), and what a grant and the bootstrap artefacts look like.

const ENDPOINT = 'master.orders-cache.abc123.euw1.cache.amazonaws.com';
const cache = (name: string, extra: Record<string, unknown> = {}, levels?: Record<string, unknown>) => ({
  name,
  engine: 'valkey',
  host: ENDPOINT,
  region: 'eu-west-1',
  cacheName: 'orders-cache',
  roleArn: ROLE_DB,
  externalId: EXTERNAL_ID,
  levels: levels ?? {
    ro: { dbUser: 'orders-ro', roleArn: ROLE_RO, accessString: 'on ~* -@all +@read' },
    rw: { dbUser: 'orders-rw', roleArn: ROLE_RW, accessString: 'on ~* -@all +@read +@write' },
  },
  ...extra,
});

async function post(h: Harness, body: unknown) {
  return h.app.inject({ method: 'POST', url: '/v1/databases', payload: body as object, headers: { authorization: `Bearer ${await h.adminToken()}` } });
}

t.test('valkey registrations', async (t) => {
  const h = await startHarness(t);

  t.test('defaults: port 6379, not serverless, TLS verify-full; no SQL fields', async (t) => {
    const res = await post(h, cache('orders-cache'));
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json(), { engine: 'valkey', port: 6379, serverless: false, tls: 'verify-full', cacheName: 'orders-cache' });
    t.notOk('sslmode' in res.json() || 'dbname' in res.json(), 'SQL fields are not filled in');
  });

  t.test('bad input is a 400 naming the field', async (t) => {
    const ro = (accessString: string) => ({ ro: { dbUser: 'orders-ro', accessString } });
    const cases: [string, unknown, string, RegExp][] = [
      ['an endpoint as cache name', cache('c1', { cacheName: ENDPOINT }), 'body.cacheName', /not an endpoint/],
      ['host:port as cache name', cache('c2', { cacheName: 'orders-cache:6379' }), 'body.cacheName', /not an endpoint/],
      ['upper-case cache name', cache('c3', { cacheName: 'Orders-Cache' }), 'body.cacheName', /lower case/],
      ['the cache name as host', cache('c4', { host: 'orders-cache' }), 'body.host', /endpoint/],
      ['TLS off', cache('c5', { tls: 'off' }), 'body.tls', /allowed values/],
      ['TLS false', cache('c6', { tls: false }), 'body.tls', /allowed values/],
      ['ro with +@all', cache('c7', {}, ro('on ~* +@all')), 'body.levels.ro.accessString', /\+@all.*ro level write/],
      ['ro with allcommands', cache('c8', {}, ro('on ~* allcommands')), 'body.levels.ro.accessString', /allcommands/],
      ['ro with +@write', cache('c9', {}, ro('on ~* +@read +@write')), 'body.levels.ro.accessString', /\+@write/],
      ['ro with +@dangerous', cache('c10', {}, ro('on ~* +@read +@dangerous')), 'body.levels.ro.accessString', /\+@dangerous/],
      ['a password rule', cache('c11', {}, ro('on ~* +@read >secret')), 'body.levels.ro.accessString', /">secret"/],
      ['an off user', cache('c12', {}, ro('off ~* +@read')), 'body.levels.ro.accessString', /must contain "on"/],
      ['no access string', cache('c13', {}, { ro: { dbUser: 'orders-ro' } }), 'body.levels.ro.accessString', /required for engine valkey/],
      ['the default user', cache('c14', {}, { ro: { dbUser: 'default', accessString: 'on ~* +@read' } }), 'body.levels.ro.dbUser', /default/],
      ['an underscore user id', cache('c15', {}, { ro: { dbUser: 'orders_ro', accessString: 'on ~* +@read' } }), 'body.levels.ro.dbUser', /ElastiCache user id/],
      ['no cache name', { ...cache('c16'), cacheName: undefined }, 'body.cacheName', /required/],
      ['a SQL field on valkey', cache('c17', { sslmode: 'require' }), 'body.sslmode', /not a field of engine valkey/],
      ['a SQL field on valkey (dbname)', cache('c18', { dbname: 'x' }), 'body.dbname', /not a field of engine valkey/],
    ];
    for (const [label, body, field, message] of cases) {
      const res = await post(h, body);
      t.equal(res.statusCode, 400, `${label}: ${res.body}`);
      const errors = (res.json().errors ?? []) as { field: string; message: string }[];
      t.match(errors.find((e) => e.field === field)?.message, message, `${label}: ${field} named, and why`);
    }
    const pg = await post(h, {
      name: 'pg-with-cache-field', host: 'orders.cluster-abc123.us-east-1.rds.amazonaws.com', region: 'us-east-1', dbname: 'orders', roleArn: ROLE_DB,
      cacheName: 'orders-cache', levels: { ro: { dbUser: 'orders_ro', accessString: 'on ~* +@read' } },
    });
    t.equal(pg.statusCode, 400, pg.body);
    t.match(pg.json().errors, [{ field: 'body.cacheName', message: /not a field of engine postgres/ }, { field: 'body.levels.ro.accessString', message: /not a field of engine postgres/ }]);
    t.equal((await post(h, cache('ok-rw', {}, { rw: { dbUser: 'orders-rw', accessString: 'on ~* +@all' } }))).statusCode, 201, '+@all is fine on rw');
  });

  t.test('a grant is an elasticache token for the cache name, and the audit row says valkey', async (t) => {
    await post(h, cache('sessions', { cacheName: 'sessions', serverless: true, port: 6380 }));
    await h.map('app-cache', 'sessions', ['ro']);
    const res = await h.grant(await h.token('app-cache'), { database: 'sessions', access: 'ro', reason: 'cache test' });
    t.equal(res.statusCode, 200, res.body);
    const grant = res.json();
    t.match(grant, { user: 'orders-ro', host: ENDPOINT, port: 6380, cacheName: 'sessions', tls: 'verify-full', region: 'eu-west-1' });
    t.notOk('dbname' in grant || 'sslmode' in grant);
    t.match(parseElastiCacheToken(grant.token), { host: 'sessions', user: 'orders-ro', resourceType: 'ServerlessCache', service: 'elasticache', expiresSeconds: 900 });
    const verified = verifyElastiCacheToken(grant.token, { cacheName: 'sessions', user: 'orders-ro', serverless: true, region: 'eu-west-1' }, h.sts.lookupCredentials, { now: new Date() });
    t.match(verified, { ok: true });
    t.equal(h.sts.findSession((verified as { accessKeyId: string }).accessKeyId)?.roleArn, ROLE_RO, "signed with the ro level's role");
    const [row] = await h.auditRows("event_type = 'credential.issued' AND database_name = 'sessions'");
    t.match(row, { engine: 'valkey', db_user: 'orders-ro' });
  });

  t.test('bootstrap: the CLI commands and elasticache:Connect on the cache and user ARNs', async (t) => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/databases/orders-cache/bootstrap', headers: { authorization: `Bearer ${await h.adminToken()}` } });
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.match(body.commands, /aws elasticache create-user --engine valkey --user-id orders-ro --user-name orders-ro --authentication-mode Type=iam --access-string 'on ~\* -@all \+@read'/);
    t.match(body.commands, /create-user-group .* --user-ids orders-cache-dab-default orders-ro orders-rw/);
    const ro = body.roles.find((r: { roleArn: string }) => r.roleArn === ROLE_RO);
    t.same(ro.permissionPolicy.Statement, [{
      Sid: 'DabElastiCacheConnect', Effect: 'Allow', Action: 'elasticache:Connect',
      Resource: [`arn:aws:elasticache:eu-west-1:${ACCOUNT}:replicationgroup:orders-cache`, `arn:aws:elasticache:eu-west-1:${ACCOUNT}:user:orders-ro`],
    }]);
  });
});
