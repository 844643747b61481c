import t from 'tap';
import type { Database } from '../../src/databases/database-schema.js';
import type { Mapping } from '../../src/mappings/mapping-schema.js';
import { decideAccess } from '../../src/mappings/decide-access.js';

const ISS = 'https://idp';
const NOW = new Date('2026-06-01T12:00:00Z');
const db: Database = {
  name: 'orders', host: 'h', port: 5432, region: 'us-east-1', dbname: 'orders', sslmode: 'verify-full',
  roleArn: 'arn:aws:iam::123456789012:role/db', version: 1, createdAt: '', updatedAt: '',
  levels: { ro: { dbUser: 'orders_ro', roleArn: 'arn:aws:iam::123456789012:role/ro' }, rw: { dbUser: 'orders_rw' } },
};
const mapping = (id: string, who: { subject: string } | { group: string }, levels: Mapping['levels'], extra: Partial<Mapping> = {}): Mapping => ({
  id, principal: { issuer: ISS, ...who }, database: 'orders', levels, version: 1, createdAt: '', updatedAt: '', ...extra,
});
const caller = { issuer: ISS, subject: 'alice', groups: ['payments'] };
const past = '2026-06-01T11:59:59Z';
const future = '2026-06-01T12:00:01Z';

const cases: Array<{ name: string; level: 'ro' | 'rw' | 'monitor'; database?: Database; mappings: Mapping[]; want: object; who?: typeof caller }> = [
  { name: 'unknown database', level: 'ro', mappings: [], want: { allowed: false, reason: 'unknown_database', rule: null } },
  { name: 'level not defined', level: 'monitor', database: db, mappings: [mapping('m1', { subject: 'alice' }, ['monitor'])], want: { allowed: false, reason: 'level_not_defined' } },
  { name: 'no mapping', level: 'ro', database: db, mappings: [], want: { allowed: false, reason: 'no_mapping', rule: null } },
  { name: 'subject mapping allows, level role used', level: 'ro', database: db, mappings: [mapping('m1', { subject: 'alice' }, ['ro'])], want: { allowed: true, rule: 'm1', dbUser: 'orders_ro', roleArn: 'arn:aws:iam::123456789012:role/ro' } },
  { name: 'group mapping allows, database role as fallback', level: 'rw', database: db, mappings: [mapping('g1', { group: 'payments' }, ['rw'])], want: { allowed: true, rule: 'g1', dbUser: 'orders_rw', roleArn: 'arn:aws:iam::123456789012:role/db' } },
  { name: 'subject mapping named before group mapping', level: 'ro', database: db, mappings: [mapping('a-group', { group: 'payments' }, ['ro']), mapping('z-subj', { subject: 'alice' }, ['ro'])], want: { allowed: true, rule: 'z-subj' } },
  { name: 'other level only', level: 'rw', database: db, mappings: [mapping('m1', { subject: 'alice' }, ['ro'])], want: { allowed: false, reason: 'level_not_granted', rule: 'm1' } },
  { name: 'expired one second ago', level: 'ro', database: db, mappings: [mapping('m1', { subject: 'alice' }, ['ro'], { expiresAt: past })], want: { allowed: false, reason: 'mapping_expired', rule: 'm1' } },
  { name: 'expires one second from now', level: 'ro', database: db, mappings: [mapping('m1', { subject: 'alice' }, ['ro'], { expiresAt: future })], want: { allowed: true, rule: 'm1' } },
  { name: 'expired and live: live wins', level: 'ro', database: db, mappings: [mapping('a', { subject: 'alice' }, ['ro'], { expiresAt: past }), mapping('b', { group: 'payments' }, ['ro'])], want: { allowed: true, rule: 'b' } },
  { name: 'another subject', level: 'ro', database: db, mappings: [mapping('m1', { subject: 'bob' }, ['ro'])], want: { allowed: false, reason: 'no_mapping' } },
  { name: 'another issuer with the same subject', level: 'ro', database: db, mappings: [{ ...mapping('m1', { subject: 'alice' }, ['ro']), principal: { issuer: 'https://evil', subject: 'alice' } }], want: { allowed: false, reason: 'no_mapping' } },
  { name: 'group the caller is not in', level: 'ro', database: db, mappings: [mapping('m1', { group: 'admins' }, ['ro'])], want: { allowed: false, reason: 'no_mapping' } },
  { name: 'mapping for another database', level: 'ro', database: db, mappings: [{ ...mapping('m1', { subject: 'alice' }, ['ro']), database: 'billing' }], want: { allowed: false, reason: 'no_mapping' } },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.match(decideAccess({ caller: c.who ?? caller, level: c.level, database: c.database, mappings: c.mappings, now: NOW }), c.want);
  });
}
