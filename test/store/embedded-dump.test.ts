import t from 'tap';
import { createEmbeddedStore } from '../../src/store/embedded-store.js';
import { bundledMigrations, migrate } from '../../src/store/migrate.js';

// The test suite's stores start from a migrated dump (test/support/test-store.ts): a store loaded
// from a dump must hold exactly what the dumped one held, and migrating it must apply nothing.
t.test('a store loaded from a dump holds the dumped schema and rows, and is its own copy', async (t) => {
  const original = await createEmbeddedStore();
  t.teardown(() => original.close());
  await migrate(original);
  await original.exec("CREATE TABLE dump_probe (id int PRIMARY KEY, note text); INSERT INTO dump_probe VALUES (1, 'before the dump')");
  const dump = await original.dumpDataDir();

  const copy = await createEmbeddedStore(undefined, { loadDataDir: dump });
  t.teardown(() => copy.close());
  t.same((await copy.query<{ note: string }>('SELECT note FROM dump_probe')).rows, [{ note: 'before the dump' }]);
  const applied = await copy.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
  t.equal(applied.rows[0]?.n, bundledMigrations().length, 'every migration is recorded in the copy');
  const second = await migrate(copy);
  t.same(second, { applied: [] }, 'migrating the copy applies nothing');

  await copy.exec("INSERT INTO dump_probe VALUES (2, 'only in the copy')");
  t.same((await original.query<{ n: number }>('SELECT count(*)::int AS n FROM dump_probe')).rows, [{ n: 1 }], 'the original does not see the copy\'s writes');
});
