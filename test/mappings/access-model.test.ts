import t from 'tap';
import type { Caller } from '../../src/auth/caller.js';
import type { Database } from '../../src/databases/database-schema.js';
import { appliesTo, buildAccessModel, claimValues } from '../../src/mappings/access-model.js';
import type { Mapping, MappingPrincipal } from '../../src/mappings/mapping-schema.js';

const ISS = 'https://idp';
const OTHER = 'https://other-idp';

const db = (name: string, labels?: Record<string, string>): Database => ({
  name, engine: 'postgres', host: `${name}.example.com`, port: 5432, region: 'us-east-1', dbname: name, sslmode: 'verify-full',
  roleArn: 'arn:aws:iam::123456789012:role/db', version: 1, createdAt: '', updatedAt: '',
  levels: { ro: { dbUser: `${name.replace(/-/g, '_')}_ro` } },
  ...(labels ? { labels } : {}),
});
const map = (name: string, principal: MappingPrincipal, target: { database: string } | { selector: Record<string, string> }): Mapping => ({
  id: `id-${name}`, name, principal, ...target, levels: ['ro'], version: 1, createdAt: '', updatedAt: '',
});

const DBS = [
  db('orders', { env: 'prod', team: 'payments' }),
  db('billing', { env: 'staging', team: 'payments' }),
  db('search', { env: 'prod', team: 'search' }),
  db('legacy'),
];
const MAPPINGS = [
  map('alice-orders', { issuer: ISS, subject: 'alice' }, { database: 'orders' }),
  map('bob-orders', { issuer: ISS, subject: 'bob' }, { database: 'orders' }),
  map('other-alice', { issuer: OTHER, subject: 'alice' }, { database: 'orders' }),
  map('payments-group', { issuer: ISS, group: 'payments' }, { selector: { team: 'payments' } }),
  map('admins-group', { issuer: ISS, group: 'admins' }, { database: 'legacy' }),
  // A subject spelled like a group name must not be reached through the group.
  map('subject-named-payments', { issuer: ISS, subject: 'payments' }, { database: 'legacy' }),
  map('dept-eng', { issuer: ISS, claim: { name: 'department', value: 'eng' } }, { selector: { env: 'prod' } }),
  map('teams-data', { issuer: ISS, claim: { name: 'teams', value: 'data' } }, { database: 'search' }),
  map('level-3', { issuer: ISS, claim: { name: 'level', value: '3' } }, { database: 'legacy' }),
  map('contractor', { issuer: ISS, claim: { name: 'contractor', value: 'true' } }, { database: 'legacy' }),
  map('other-dept-eng', { issuer: OTHER, claim: { name: 'department', value: 'eng' } }, { database: 'orders' }),
];
const model = buildAccessModel(DBS, MAPPINGS);
const names = (ms: readonly Mapping[]) => ms.map((m) => m.name).sort();

t.test('exposes the databases by name and the mappings as given', async (t) => {
  t.same([...model.databases.keys()], ['orders', 'billing', 'search', 'legacy']);
  t.equal(model.databases.get('search'), DBS[2]);
  t.equal(model.mappings, MAPPINGS);
});

const candidateCases: Array<{ name: string; caller: Caller; want: string[] }> = [
  { name: 'subject only', caller: { issuer: ISS, subject: 'alice', groups: [] }, want: ['alice-orders'] },
  { name: 'subject of another issuer', caller: { issuer: OTHER, subject: 'alice', groups: [] }, want: ['other-alice'] },
  { name: 'unknown subject, no groups, no claims', caller: { issuer: ISS, subject: 'nobody', groups: [] }, want: [] },
  { name: 'unknown issuer', caller: { issuer: 'https://evil', subject: 'alice', groups: ['payments'], claims: { department: 'eng' } }, want: [] },
  { name: 'group (not the subject spelled like it)', caller: { issuer: ISS, subject: 'carol', groups: ['payments'] }, want: ['payments-group'] },
  { name: 'subject spelled like a group (not the group)', caller: { issuer: ISS, subject: 'payments', groups: [] }, want: ['subject-named-payments'] },
  { name: 'several groups', caller: { issuer: ISS, subject: 'carol', groups: ['admins', 'payments', 'unmapped'] }, want: ['admins-group', 'payments-group'] },
  { name: 'string claim', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { department: 'eng' } }, want: ['dept-eng'] },
  { name: 'string claim of another value', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { department: 'sales' } }, want: [] },
  { name: 'array claim containing the value', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { teams: ['core', 'data'] } }, want: ['teams-data'] },
  { name: 'array claim without the value', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { teams: ['core'] } }, want: [] },
  { name: 'number claim', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { level: 3 } }, want: ['level-3'] },
  { name: 'boolean claim', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { contractor: true } }, want: ['contractor'] },
  { name: 'object claim never matches', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { department: { name: 'eng' } } }, want: [] },
  { name: 'claim as a group name does not match', caller: { issuer: ISS, subject: 'carol', groups: ['eng'] }, want: [] },
  { name: 'claim from the other issuer', caller: { issuer: OTHER, subject: 'carol', groups: [], claims: { department: 'eng', teams: ['data'] } }, want: ['other-dept-eng'] },
  {
    name: 'subject, groups and claims together',
    caller: { issuer: ISS, subject: 'alice', groups: ['payments'], claims: { department: 'eng', teams: ['data'], level: 3 } },
    want: ['alice-orders', 'dept-eng', 'level-3', 'payments-group', 'teams-data'],
  },
  { name: 'a group listed twice yields its mappings once', caller: { issuer: ISS, subject: 'carol', groups: ['payments', 'payments'] }, want: ['payments-group'] },
  { name: 'a claim value listed twice yields its mappings once', caller: { issuer: ISS, subject: 'carol', groups: [], claims: { teams: ['data', 'data'] } }, want: ['teams-data'] },
];
for (const c of candidateCases) {
  t.test(`candidates: ${c.name}`, async (t) => {
    t.same(names(model.candidates(c.caller)), c.want);
  });
}

const mapping = (name: string) => MAPPINGS.find((m) => m.name === name)!;
const targetCases: Array<{ name: string; mapping: Mapping; want: string[] }> = [
  { name: 'by name', mapping: mapping('alice-orders'), want: ['orders'] },
  { name: 'by name, database not registered', mapping: map('gone', { issuer: ISS, subject: 'x' }, { database: 'gone' }), want: [] },
  { name: 'selector with one label', mapping: mapping('dept-eng'), want: ['orders', 'search'] },
  { name: 'selector with one label, several values in the model', mapping: mapping('payments-group'), want: ['billing', 'orders'] },
  { name: 'selector with every label of one database', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'prod', team: 'payments' } }), want: ['orders'] },
  { name: 'selector whose pairs no one database carries together', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'staging', team: 'search' } }), want: [] },
  { name: 'selector with a label no database carries', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'prod', region: 'eu' } }), want: [] },
  { name: 'selector with an unknown value', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'dev' } }), want: [] },
  { name: 'empty selector matches nothing', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: {} }), want: [] },
];
for (const c of targetCases) {
  t.test(`targets: ${c.name}`, async (t) => {
    t.same(model.targets(c.mapping).map((d) => d.name).sort(), c.want);
  });
}

t.test('targets: agree with appliesTo over every database, for every mapping', async (t) => {
  for (const m of [...MAPPINGS, ...targetCases.map((c) => c.mapping)]) {
    t.same(model.targets(m).map((d) => d.name).sort(), DBS.filter((d) => appliesTo(m, d)).map((d) => d.name).sort(), m.name);
  }
});

t.test('targets: a model without labelled databases', async (t) => {
  const bare = buildAccessModel([db('a'), db('b')], []);
  t.same(bare.targets(map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'prod' } })), []);
  t.same(bare.targets(map('n', { issuer: ISS, subject: 'x' }, { database: 'b' })).map((d) => d.name), ['b']);
});

const orders = DBS[0]!;
const legacy = DBS[3]!;
const appliesCases: Array<{ name: string; mapping: Mapping; database: Database; want: boolean }> = [
  { name: 'by name, same database', mapping: mapping('alice-orders'), database: orders, want: true },
  { name: 'by name, another database (labels do not matter)', mapping: mapping('alice-orders'), database: DBS[1]!, want: false },
  { name: 'selector, all labels carried', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'prod', team: 'payments' } }), database: orders, want: true },
  { name: 'selector, subset of the labels', mapping: mapping('dept-eng'), database: orders, want: true },
  { name: 'selector, one label missing', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'prod', tier: 'gold' } }), database: orders, want: false },
  { name: 'selector, one label with another value', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { env: 'prod', team: 'search' } }), database: orders, want: false },
  { name: 'selector, database without labels', mapping: mapping('dept-eng'), database: legacy, want: false },
  { name: 'selector naming an Object.prototype key', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: { constructor: 'x' } }), database: legacy, want: false },
  { name: 'empty selector (only reachable by direct SQL) applies to nothing', mapping: map('s', { issuer: ISS, subject: 'x' }, { selector: {} }), database: orders, want: false },
];
for (const c of appliesCases) {
  t.test(`appliesTo: ${c.name}`, async (t) => {
    t.equal(appliesTo(c.mapping, c.database), c.want);
  });
}

const claimCases: Array<{ name: string; value: unknown; want: string[] }> = [
  { name: 'string', value: 'eng', want: ['eng'] },
  { name: 'empty string', value: '', want: [''] },
  { name: 'number', value: 42, want: ['42'] },
  { name: 'boolean', value: false, want: ['false'] },
  { name: 'array of scalars', value: ['a', 1, true], want: ['a', '1', 'true'] },
  { name: 'array with non-scalars dropped', value: ['a', { b: 1 }, ['c'], null, undefined], want: ['a'] },
  { name: 'empty array', value: [], want: [] },
  { name: 'object', value: { a: 'b' }, want: [] },
  { name: 'null', value: null, want: [] },
  { name: 'undefined (absent claim)', value: undefined, want: [] },
];
for (const c of claimCases) {
  t.test(`claimValues: ${c.name}`, async (t) => {
    t.same(claimValues(c.value), c.want);
  });
}
