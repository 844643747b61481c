import t from 'tap';
import type { Caller } from '../../src/auth/caller.js';
import type { AccessLevel, Database } from '../../src/databases/database-schema.js';
import { buildAccessModel } from '../../src/mappings/access-model.js';
import { decideAccess, effectiveAccess, explainAccess, type Decision, type MappingVerdict } from '../../src/mappings/decide-access.js';
import type { Mapping, MappingPrincipal } from '../../src/mappings/mapping-schema.js';

// Pure decisions against an injected clock: no store, no HTTP, no Date.now().
const ISS = 'https://idp';
const OTHER = 'https://other-idp';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const DB_ROLE = 'arn:aws:iam::123456789012:role/db';
const RO_ROLE = 'arn:aws:iam::123456789012:role/orders-ro';

const DBS: Database[] = [
  {
    name: 'orders', engine: 'postgres', host: 'orders.example.com', port: 5432, region: 'us-east-1', dbname: 'orders', sslmode: 'verify-full',
    roleArn: DB_ROLE, version: 1, createdAt: '', updatedAt: '', labels: { env: 'prod', team: 'payments' },
    levels: { ro: { dbUser: 'orders_ro', roleArn: RO_ROLE }, rw: { dbUser: 'orders_rw' } },
  },
  {
    name: 'billing', engine: 'postgres', host: 'billing.example.com', port: 5432, region: 'us-east-1', dbname: 'billing', sslmode: 'verify-full',
    roleArn: DB_ROLE, version: 1, createdAt: '', updatedAt: '', labels: { env: 'staging', team: 'payments' },
    levels: { ro: { dbUser: 'billing_ro' }, rw: { dbUser: 'billing_rw' }, monitor: { dbUser: 'billing_mon' } },
  },
  {
    name: 'legacy', engine: 'postgres', host: 'legacy.example.com', port: 5432, region: 'us-east-1', dbname: 'legacy', sslmode: 'verify-full',
    roleArn: DB_ROLE, version: 1, createdAt: '', updatedAt: '', levels: { ro: { dbUser: 'legacy_ro' } },
  },
];

const sub = (subject: string, issuer = ISS): MappingPrincipal => ({ issuer, subject });
const grp = (group: string, issuer = ISS): MappingPrincipal => ({ issuer, group });
const clm = (name: string, value: string, issuer = ISS): MappingPrincipal => ({ issuer, claim: { name, value } });
/** A mapping on orders unless `extra` says otherwise; its id differs from its name so `rule` is checked to be the id. */
const m = (name: string, principal: MappingPrincipal, levels: AccessLevel[], extra: Partial<Mapping> = {}): Mapping => ({
  id: `id-${name}`, name, principal, ...(extra.selector ? {} : { database: 'orders' }), levels, version: 1, createdAt: '', updatedAt: '', ...extra,
});
const ALICE: Caller = {
  issuer: ISS, subject: 'alice', groups: ['payments', 'staff'],
  claims: { department: 'eng', teams: ['core', 'data'], level: 3, meta: { a: 1 } },
};
const allow = (rule: string, dbUser = 'orders_ro', roleArn = RO_ROLE): Decision => ({ allowed: true, rule: `id-${rule}`, dbUser, roleArn });
const deny = (reason: Extract<Decision, { allowed: false }>['reason'], rule: string | null = null): Decision => ({ allowed: false, reason, rule: rule && `id-${rule}` });

interface Case { name: string; mappings: Mapping[]; want: Decision; caller?: Caller; level?: AccessLevel; database?: string; reason?: string }
const cases: Case[] = [
  // Who
  { name: 'subject grants; the level role is used', mappings: [m('a', sub('alice'), ['ro'])], want: allow('a') },
  { name: 'group grants; the database role is the fallback for a level without one', level: 'rw', mappings: [m('g', grp('payments'), ['rw'])], want: allow('g', 'orders_rw', DB_ROLE) },
  { name: 'string claim grants', mappings: [m('c', clm('department', 'eng'), ['ro'])], want: allow('c') },
  { name: 'array claim containing the value grants', mappings: [m('c', clm('teams', 'data'), ['ro'])], want: allow('c') },
  { name: 'array claim without the value', mappings: [m('c', clm('teams', 'ops'), ['ro'])], want: deny('no_mapping') },
  { name: 'number claim grants (compared as a string)', mappings: [m('c', clm('level', '3'), ['ro'])], want: allow('c') },
  { name: 'number claim of another value', mappings: [m('c', clm('level', '4'), ['ro'])], want: deny('no_mapping') },
  { name: 'object claim never matches', mappings: [m('c', clm('meta', '[object Object]'), ['ro'])], want: deny('no_mapping') },
  { name: 'claim the caller does not carry', mappings: [m('c', clm('site', 'hq'), ['ro'])], want: deny('no_mapping') },
  { name: 'claim mapping of another issuer must not match', mappings: [m('c', clm('department', 'eng', OTHER), ['ro'])], want: deny('no_mapping') },
  { name: 'caller of another issuer with the same claim', caller: { ...ALICE, issuer: OTHER }, mappings: [m('c', clm('department', 'eng'), ['ro'])], want: deny('no_mapping') },
  { name: 'subject mapping of another issuer', mappings: [m('a', sub('alice', OTHER), ['ro'])], want: deny('no_mapping') },
  { name: 'group mapping of another issuer', mappings: [m('g', grp('payments', OTHER), ['ro'])], want: deny('no_mapping') },
  { name: 'another subject', mappings: [m('b', sub('bob'), ['ro'])], want: deny('no_mapping') },
  { name: 'a group the caller is not in', mappings: [m('g', grp('admins'), ['ro'])], want: deny('no_mapping') },
  { name: 'caller without claims', caller: { issuer: ISS, subject: 'carol', groups: [] }, mappings: [m('c', clm('department', 'eng'), ['ro'])], want: deny('no_mapping') },
  // What
  { name: 'mapping that names another database', mappings: [m('a', sub('alice'), ['ro'], { database: 'billing' })], want: deny('no_mapping') },
  { name: 'selector matching all labels', mappings: [m('s', sub('alice'), ['ro'], { selector: { env: 'prod', team: 'payments' } })], want: allow('s') },
  { name: 'selector matching a subset of the labels', mappings: [m('s', grp('payments'), ['ro'], { selector: { team: 'payments' } })], want: allow('s') },
  { name: 'selector missing one label', mappings: [m('s', sub('alice'), ['ro'], { selector: { env: 'prod', team: 'search' } })], want: deny('no_mapping') },
  { name: 'selector on a database without labels', database: 'legacy', mappings: [m('s', sub('alice'), ['ro'], { selector: { env: 'prod' } })], want: deny('no_mapping') },
  { name: 'by name on a database without labels', database: 'legacy', mappings: [m('a', sub('alice'), ['ro'], { database: 'legacy' })], want: allow('a', 'legacy_ro', DB_ROLE) },
  { name: 'empty selector (direct SQL only) grants nothing', mappings: [m('s', sub('alice'), ['ro'], { selector: {} })], want: deny('no_mapping') },
  { name: 'unknown database', database: 'nope', mappings: [m('a', sub('alice'), ['ro'])], want: deny('unknown_database') },
  // Levels
  { name: 'level not defined on the database, even with a mapping granting it', level: 'monitor', mappings: [m('s', sub('alice'), ['monitor'], { selector: { team: 'payments' } })], want: deny('level_not_defined') },
  { name: 'level not defined and no mapping', level: 'monitor', mappings: [], want: deny('level_not_defined') },
  { name: 'level not granted', level: 'rw', mappings: [m('a', sub('alice'), ['ro'])], want: deny('level_not_granted', 'a') },
  { name: 'one mapping of several levels', level: 'rw', mappings: [m('a', sub('alice'), ['ro', 'rw'])], want: allow('a', 'orders_rw', DB_ROLE) },
  { name: 'no mapping at all', mappings: [], want: deny('no_mapping') },
  // When
  { name: 'notBefore one ms in the future', mappings: [m('a', sub('alice'), ['ro'], { notBefore: at(1) })], want: deny('mapping_not_yet_valid', 'a') },
  { name: 'exactly at notBefore', mappings: [m('a', sub('alice'), ['ro'], { notBefore: at(0) })], want: allow('a') },
  { name: 'notBefore in the past', mappings: [m('a', sub('alice'), ['ro'], { notBefore: at(-60_000) })], want: allow('a') },
  { name: 'expiresAt one ms in the past', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: at(-1) })], want: deny('mapping_expired', 'a') },
  { name: 'exactly at expiresAt is expired', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: at(0) })], want: deny('mapping_expired', 'a') },
  { name: 'expiresAt one ms in the future', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: at(1) })], want: allow('a') },
  { name: 'inside a notBefore..expiresAt window', mappings: [m('a', sub('alice'), ['ro'], { notBefore: at(-1), expiresAt: at(1) })], want: allow('a') },
  { name: 'expired mapping of another level says nothing', level: 'rw', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: at(-1) })], want: deny('no_mapping') },
  { name: 'unparseable expiresAt (direct SQL only) fails closed', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: 'soon' })], want: deny('mapping_expired', 'a') },
  // Why
  { name: 'requireReason without a reason', mappings: [m('a', sub('alice'), ['ro'], { requireReason: true })], want: deny('reason_required', 'a') },
  { name: 'requireReason with an empty-string reason', reason: '', mappings: [m('a', sub('alice'), ['ro'], { requireReason: true })], want: deny('reason_required', 'a') },
  { name: 'requireReason with a reason', reason: 'INC-42', mappings: [m('a', sub('alice'), ['ro'], { requireReason: true })], want: allow('a') },
  { name: 'a reason given where none is required', reason: 'INC-42', mappings: [m('a', sub('alice'), ['ro'])], want: allow('a') },
  // Precedence
  { name: 'a live group mapping beats an expired subject mapping', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: at(-1) }), m('g', grp('payments'), ['ro'])], want: allow('g') },
  { name: 'a group mapping without requireReason beats a subject one with it', mappings: [m('a', sub('alice'), ['ro'], { requireReason: true }), m('g', grp('payments'), ['ro'])], want: allow('g') },
  { name: 'subject beats claim beats group (subject decides)', mappings: [m('a-group', grp('payments'), ['ro']), m('b-claim', clm('department', 'eng'), ['ro']), m('z-subject', sub('alice'), ['ro'])], want: allow('z-subject') },
  { name: 'claim beats group', mappings: [m('a-group', grp('payments'), ['ro']), m('z-claim', clm('teams', 'core'), ['ro'])], want: allow('z-claim') },
  { name: 'by name beats by selector for the same kind of principal', mappings: [m('a-sel', sub('alice'), ['ro'], { selector: { env: 'prod' } }), m('z-name', sub('alice'), ['ro'])], want: allow('z-name') },
  { name: 'subject by selector beats group by name', mappings: [m('a-group', grp('payments'), ['ro']), m('z-sel', sub('alice'), ['ro'], { selector: { env: 'prod' } })], want: allow('z-sel') },
  { name: 'same specificity: the first by name decides', mappings: [m('b', grp('staff'), ['ro']), m('a', grp('payments'), ['ro'])], want: allow('a') },
  { name: 'refusals: reason_required before expired', mappings: [m('a', sub('alice'), ['ro'], { expiresAt: at(-1) }), m('g', grp('payments'), ['ro'], { requireReason: true })], want: deny('reason_required', 'g') },
  { name: 'refusals: expired before not yet valid', mappings: [m('a', sub('alice'), ['ro'], { notBefore: at(1) }), m('g', grp('payments'), ['ro'], { expiresAt: at(-1) })], want: deny('mapping_expired', 'g') },
  { name: 'refusals: not yet valid before level not granted', mappings: [m('a', sub('alice'), ['rw']), m('g', grp('payments'), ['ro'], { notBefore: at(1) })], want: deny('mapping_not_yet_valid', 'g') },
  { name: 'refusals: the most specific mapping with the verdict is the rule', mappings: [m('a-group', grp('payments'), ['ro'], { expiresAt: at(-1) }), m('z-subject', sub('alice'), ['ro'], { expiresAt: at(-2) })], want: deny('mapping_expired', 'z-subject') },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const model = buildAccessModel(DBS, c.mappings);
    const input = { caller: c.caller ?? ALICE, level: c.level ?? 'ro', database: c.database ?? 'orders', reason: c.reason, model, now: NOW };
    t.same(decideAccess(input), c.want);
    t.same(explainAccess(input).decision, c.want, 'explainAccess decides the same');
  });
}

t.test('decisions read only the injected clock', async (t) => {
  const model = buildAccessModel(DBS, [m('a', sub('alice'), ['ro'], { notBefore: '2030-01-01T00:00:00Z', expiresAt: '2030-01-02T00:00:00Z' })]);
  const decide = (iso: string) => decideAccess({ caller: ALICE, level: 'ro', database: 'orders', model, now: new Date(iso) });
  t.same(decide('2029-12-31T23:59:59.999Z'), deny('mapping_not_yet_valid', 'a'));
  t.same(decide('2030-01-01T00:00:00.000Z'), allow('a'));
  t.same(decide('2030-01-01T23:59:59.999Z'), allow('a'));
  t.same(decide('2030-01-02T00:00:00.000Z'), deny('mapping_expired', 'a'));
});

// explainAccess: every mapping that names the caller and applies to the database, most specific first.
const verdicts = (mappings: Mapping[], opts: { level?: AccessLevel; database?: string; reason?: string; caller?: Caller } = {}) =>
  explainAccess({ caller: opts.caller ?? ALICE, level: opts.level ?? 'ro', database: opts.database ?? 'orders', reason: opts.reason, model: buildAccessModel(DBS, mappings), now: NOW })
    .considered.map((c): [string, MappingVerdict] => [c.mapping.name, c.verdict]);

t.test('considered: a verdict per mapping, ordered subject, claim, group; by name before selector; then by name', async (t) => {
  const mappings = [
    m('g-name', grp('payments'), ['ro']),
    m('g-sel', grp('staff'), ['ro'], { selector: { env: 'prod' }, notBefore: at(1) }),
    m('c-sel', clm('teams', 'core'), ['ro'], { selector: { team: 'payments' }, expiresAt: at(0) }),
    m('c-name-b', clm('department', 'eng'), ['ro'], { requireReason: true }),
    m('c-name-a', clm('level', '3'), ['rw']),
    m('s-sel', sub('alice'), ['rw'], { selector: { env: 'prod' }, expiresAt: at(-1) }),
    m('s-name', sub('alice'), ['ro', 'rw']),
    m('elsewhere', sub('alice'), ['ro'], { database: 'billing' }),
    m('not-me', sub('bob'), ['ro']),
    m('no-labels', grp('payments'), ['ro'], { selector: { env: 'dev' } }),
  ];
  t.same(verdicts(mappings), [
    ['s-name', 'grants'],
    ['s-sel', 'inactive'],
    ['c-name-a', 'other_levels'],
    ['c-name-b', 'reason_required'],
    ['c-sel', 'expired'],
    ['g-name', 'grants'],
    ['g-sel', 'not_yet_valid'],
  ]);
  t.same(verdicts(mappings, { reason: 'INC-1' })[3], ['c-name-b', 'grants'], 'a reason turns reason_required into grants');
  t.same(verdicts(mappings, { level: 'rw' }).slice(0, 3), [['s-name', 'grants'], ['s-sel', 'expired'], ['c-name-a', 'grants']], 'verdicts are per level');
});

t.test('considered: empty for an unknown database', async (t) => {
  t.same(verdicts([m('a', sub('alice'), ['ro'])], { database: 'nope' }), []);
});

t.test('considered: still listed when the level is not defined', async (t) => {
  t.same(verdicts([m('a', sub('alice'), ['monitor'])], { level: 'monitor' }), [['a', 'grants']]);
});

t.test('considered: empty when nothing names the caller', async (t) => {
  t.same(verdicts([m('b', sub('bob'), ['ro'])]), []);
});

t.test('considered: a group or claim value the token lists twice yields its mapping once', async (t) => {
  const caller: Caller = { issuer: ISS, subject: 'carol', groups: ['payments', 'payments'], claims: { teams: ['data', 'data'] } };
  t.same(verdicts([m('g', grp('payments'), ['ro']), m('c', clm('teams', 'data'), ['ro'])], { caller }), [['c', 'grants'], ['g', 'grants']]);
});

// effectiveAccess: what the caller can get right now, one entry per (database, level).
const effective = (mappings: Mapping[], caller: Caller = ALICE) => effectiveAccess(buildAccessModel(DBS, mappings), caller, NOW);

t.test('effective: one entry per database and level, from the most specific mapping', async (t) => {
  t.same(effective([m('g', grp('payments'), ['ro', 'rw']), m('a', sub('alice'), ['ro'])]), [
    { database: 'orders', level: 'ro', mapping: 'a', requireReason: false },
    { database: 'orders', level: 'rw', mapping: 'g', requireReason: false },
  ]);
});

t.test('effective: a mapping that needs no reason is preferred over a more specific one that does', async (t) => {
  t.same(effective([m('a', sub('alice'), ['ro'], { requireReason: true }), m('g', grp('payments'), ['ro'])]), [
    { database: 'orders', level: 'ro', mapping: 'g', requireReason: false },
  ]);
  t.same(effective([m('a', sub('alice'), ['ro']), m('g', grp('payments'), ['ro'], { requireReason: true })]), [
    { database: 'orders', level: 'ro', mapping: 'a', requireReason: false },
  ], 'the more specific one is kept when it needs no reason');
  t.same(effective([m('a', sub('alice'), ['ro'], { requireReason: true }), m('g', grp('payments'), ['ro'], { requireReason: true })]), [
    { database: 'orders', level: 'ro', mapping: 'a', requireReason: true },
  ], 'the more specific one is kept when both need a reason');
});

t.test('effective: a selector expands to every database it matches, levels each defines only', async (t) => {
  t.same(effective([m('s', grp('payments'), ['ro', 'monitor'], { selector: { team: 'payments' }, expiresAt: at(3_600_000) })]), [
    { database: 'billing', level: 'monitor', mapping: 's', requireReason: false, expiresAt: at(3_600_000) },
    { database: 'billing', level: 'ro', mapping: 's', requireReason: false, expiresAt: at(3_600_000) },
    { database: 'orders', level: 'ro', mapping: 's', requireReason: false, expiresAt: at(3_600_000) },
  ]);
});

t.test('effective: expired and not-yet-valid mappings are left out; the boundaries follow isLive', async (t) => {
  t.same(effective([
    m('expired', sub('alice'), ['ro'], { expiresAt: at(0) }),
    m('future', sub('alice'), ['rw'], { notBefore: at(1) }),
    m('starts-now', grp('payments'), ['ro'], { database: 'legacy', notBefore: at(0) }),
  ]), [{ database: 'legacy', level: 'ro', mapping: 'starts-now', requireReason: false }]);
});

t.test('effective: levels the database does not define, unknown databases and other principals are left out', async (t) => {
  t.same(effective([
    m('mon', sub('alice'), ['monitor', 'rw']),
    m('gone', sub('alice'), ['ro'], { database: 'gone' }),
    m('bob', sub('bob'), ['ro'], { database: 'legacy' }),
    m('other-iss', clm('department', 'eng', OTHER), ['ro'], { database: 'legacy' }),
  ]), [{ database: 'orders', level: 'rw', mapping: 'mon', requireReason: false }]);
});

t.test('effective: nothing for a caller nothing names', async (t) => {
  t.same(effective([m('a', sub('alice'), ['ro'])], { issuer: ISS, subject: 'nobody', groups: [] }), []);
});
