import t from 'tap';
import { Type } from 'typebox';
import type { Database } from '../../src/databases/database-schema.js';
import type { Engine } from '../../src/engines/engine.js';
import { mysqlEngine } from '../../src/engines/mysql/mysql-engine.js';
import { postgresEngine } from '../../src/engines/postgres/postgres-engine.js';
import { engineProblems, withEngineDefaults } from '../../src/engines/registration.js';
import { startHarness } from '../support/harness.js';

// A registration is a union on engine: fields of another engine and missing fields of this one are
// 400s naming the field, defaults are the engine's, and an engine's own rules apply only to it.

const h = await startHarness(t);
const ROLE = 'arn:aws:iam::123456789012:role/db';
const body = (name: string, extra: Record<string, unknown> = {}) => ({
  name, host: `${name}.cluster-abc.us-east-1.rds.amazonaws.com`, region: 'us-east-1', dbname: 'app', roleArn: ROLE, levels: { ro: { dbUser: 'app_ro' } }, ...extra,
});
const post = async (b: unknown) => h.app.inject({ method: 'POST', url: '/v1/databases', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: b as object });

t.test('engine defaults: postgres without one, each engine its port, sslmode verify-full', async (t) => {
  const pg = await post(body('pg-default'));
  t.equal(pg.statusCode, 201, pg.body);
  t.match(pg.json(), { engine: 'postgres', port: 5432, sslmode: 'verify-full' });
  const my = await post(body('my-default', { engine: 'mysql' }));
  t.equal(my.statusCode, 201, my.body);
  t.match(my.json(), { engine: 'mysql', port: 3306, sslmode: 'verify-full', dbname: 'app' });
  const explicit = await post(body('my-port', { engine: 'mysql', port: 3307, sslmode: 'require' }));
  t.match(explicit.json(), { port: 3307, sslmode: 'require' });
});

t.test('bad engine input is a 400 naming the field', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['unknown engine', body('x1', { engine: 'oracle' }), /body\.engine/],
    ['mysql without TLS (sslmode disable)', body('x2', { engine: 'mysql', sslmode: 'disable' }), /body\.sslmode/],
    ['mysql without dbname', { ...body('x3', { engine: 'mysql' }), dbname: undefined }, /body\.dbname.*required for engine mysql/],
    ['postgres without dbname', { ...body('x4'), dbname: undefined }, /body\.dbname.*required for engine postgres/],
    ['mysql user longer than 32', body('x5', { engine: 'mysql', levels: { ro: { dbUser: `u${'x'.repeat(32)}` } } }), /body\.levels\.ro\.dbUser.*32 characters/],
    ['mysql user root', body('x6', { engine: 'mysql', levels: { rw: { dbUser: 'root' } } }), /body\.levels\.rw\.dbUser/],
    ['postgres user with capitals', body('x7', { levels: { ro: { dbUser: 'App_Ro' } } }), /body\.levels\.ro\.dbUser.*PostgreSQL/],
    ['a field no engine has', body('x8', { cacheNameX: 'c' }), /cacheNameX/],
  ];
  for (const [what, b, field] of cases) {
    const res = await post(b);
    t.equal(res.statusCode, 400, what);
    t.match(res.body, field, what);
  }
  const mixed = await post(body('my-caps', { engine: 'mysql', levels: { ro: { dbUser: 'App_Ro' } } }));
  t.equal(mixed.statusCode, 201, 'what PostgreSQL refuses, MySQL may take: the rule is the engine\'s');
});

// Two real engines share every field today, so the union's rules are shown with a made-up one.
const cacheEngine: Engine = {
  ...postgresEngine,
  name: 'cache',
  registration: {
    fields: { cacheName: Type.String(), serverless: Type.Boolean() },
    required: ['cacheName'],
    levelFields: { accessString: Type.String() },
    requiredLevelFields: ['accessString'],
    defaults: { port: 6379, serverless: false },
    problems: () => [],
  },
};
const stored = (input: Record<string, unknown>): Database => ({ ...withEngineDefaults({ host: 'h', region: 'us-east-1', roleArn: ROLE, levels: {}, ...input }), name: 'n', version: 1, createdAt: '', updatedAt: '' });

t.test('another engine\'s field, or a missing one, at the top and in levels', async (t) => {
  const engines = [postgresEngine, mysqlEngine, cacheEngine];
  t.same(engineProblems(stored({ engine: 'cache', cacheName: 'c', dbname: 'app', levels: { ro: { dbUser: 'u', accessString: 'on ~* +@read' } } }), engines), [
    { field: 'body.dbname', message: 'is not a field of engine cache' },
  ]);
  t.same(engineProblems(stored({ engine: 'cache', levels: { rw: { dbUser: 'u' } } }), engines), [
    { field: 'body.cacheName', message: 'is required for engine cache' },
    { field: 'body.levels.rw.accessString', message: 'is required for engine cache' },
  ]);
  t.same(engineProblems(stored({ engine: 'postgres', dbname: 'a', sslmode: 'require', cacheName: 'c', levels: { ro: { dbUser: 'u', accessString: 'x' } } }), engines), [
    { field: 'body.cacheName', message: 'is not a field of engine postgres' },
    { field: 'body.levels.ro.accessString', message: 'is not a field of engine postgres' },
  ]);
  t.same(engineProblems(stored({ engine: 'cache', cacheName: 'c', levels: { ro: { dbUser: 'u', accessString: 'x' } } }), engines), [], 'a complete registration');
});
