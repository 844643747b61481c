// The privileges check behind /readyz, on whichever store the suite runs (as its superuser-ish
// role: every privilege present). A role actually missing one is test/deploy/store-roles.test.ts.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { missingPrivileges, REQUIRED_PRIVILEGES } from '../../src/store/required-privileges.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../support/test-store.js';

const testStore = await openTestStore();
t.teardown(() => testStore.close());

t.test('a migrated store and its own role: nothing missing', async (t) => {
  t.same(await missingPrivileges(testStore.store), []);
  t.ok(REQUIRED_PRIVILEGES.some((p) => p.kind === 'sequence' && p.name === 'audit_events_id_seq'), 'the id sequence is on the list');
  t.notOk(REQUIRED_PRIVILEGES.some((p) => p.name === 'audit_events' && ['UPDATE', 'DELETE'].includes(p.privilege)), 'serving never needs to change history');
});

t.test('a relation that does not exist counts as missing, and is no error', async (t) => {
  const missing = await missingPrivileges(testStore.store, [
    { kind: 'table', name: 'audit_events', privilege: 'INSERT', why: 'x' },
    { kind: 'table', name: 'no_such_table', privilege: 'SELECT', why: 'a test' },
    { kind: 'sequence', name: 'no_such_seq', privilege: 'USAGE', why: 'a test' },
  ]);
  t.same(missing, ['SELECT on no_such_table (a test)', 'USAGE on sequence no_such_seq (a test)']);
});

t.test('/readyz checks privileges once, then trusts a positive answer for a while', async (t) => {
  let privilegeQueries = 0;
  const counted: Store = {
    ...testStore.store,
    query: (sql, params) => {
      if (sql.includes('has_table_privilege')) privilegeQueries++;
      return testStore.store.query(sql, params);
    },
  };
  const config = parseConfig({
    logLevel: 'silent',
    auth: { issuers: [{ issuer: 'https://idp.invalid', audience: 'dab', jwksUrl: 'https://idp.invalid/jwks' }] },
    audit: { fingerprintKey: randomBytes(32).toString('hex'), sealIntervalSeconds: 0 },
  });
  const app = await buildApp(config, { store: counted, assumeRole: async () => Promise.reject(new Error('unused')) });
  t.teardown(() => app.close());
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    t.same([res.statusCode, res.json()], [200, { status: 'ready' }]);
  }
  t.equal(privilegeQueries, 1, 'three probes, one privileges query');
});
