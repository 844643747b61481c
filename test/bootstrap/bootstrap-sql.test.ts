import t from 'tap';
import { bootstrapSql, groupRoleName, groupRoles } from '../../src/engines/postgres/bootstrap-sql.js';
import { dollarQuote, identifierProblem, quoteIdent, quoteLiteral } from '../../src/bootstrap/sql-quote.js';

const orders = {
  name: 'orders',
  host: 'orders.cluster-abc123.us-east-1.rds.amazonaws.com',
  port: 5432,
  dbname: 'orders',
  levels: { ro: { dbUser: 'orders_ro_user' }, rw: { dbUser: 'orders_rw' }, monitor: { dbUser: 'orders_monitor' } },
};

t.test('quoteIdent always double-quotes and doubles embedded quotes', async (t) => {
  t.equal(quoteIdent('public'), '"public"');
  t.equal(quoteIdent('select'), '"select"', 'keywords are safe');
  t.equal(quoteIdent('we"ird'), '"we""ird"');
  t.equal(quoteIdent('x"; DROP TABLE t; --'), '"x""; DROP TABLE t; --"', 'an injection attempt stays one identifier');
  t.equal(quoteIdent('Mixed Case'), '"Mixed Case"', 'case is kept');
  t.equal(quoteIdent('schéma'), '"schéma"');
  t.throws(() => quoteIdent(''), RangeError);
  t.throws(() => quoteIdent('a\u0000b'), /NUL/);
  t.throws(() => quoteIdent('x'.repeat(64)), /longer than 63 bytes/, 'PostgreSQL would truncate it');
  t.throws(() => quoteIdent('é'.repeat(32)), /longer than 63 bytes/, 'bytes, not characters');
  t.equal(identifierProblem('x'.repeat(63)), undefined);
});

t.test('quoteLiteral reads the same whatever standard_conforming_strings says', async (t) => {
  t.equal(quoteLiteral('orders_ro'), "'orders_ro'");
  t.equal(quoteLiteral("o'brien"), "'o''brien'");
  t.equal(quoteLiteral('back\\slash'), "E'back\\\\slash'");
  t.equal(quoteLiteral("a'\\"), "E'a''\\\\'");
  t.throws(() => quoteLiteral('\u0000'));
});

t.test('dollarQuote picks a tag the body does not contain', async (t) => {
  t.equal(dollarQuote('BEGIN END'), '$dab$\nBEGIN END\n$dab$');
  t.equal(dollarQuote('x $dab$ y'), '$dab1$\nx $dab$ y\n$dab1$');
  t.equal(dollarQuote('$dab$ $dab1$'), '$dab2$\n$dab$ $dab1$\n$dab2$');
});

t.test('group role names come from the DB user, fit 63 bytes and never clash', async (t) => {
  t.equal(groupRoleName('oltp_ro_user'), 'oltp_ro_role', 'a _user suffix becomes _role');
  t.equal(groupRoleName('orders_rw'), 'orders_rw_role');
  const long = `a${'b'.repeat(62)}`;
  t.equal(groupRoleName(long).length, 63);
  t.ok(groupRoleName(long).endsWith('_role'));
  const clash = groupRoles({ ro: { dbUser: 'app' }, rw: { dbUser: 'app_role' } });
  t.equal(clash.get('ro'), 'app_ro_role', "ro's group would have been rw's login user");
  t.equal(clash.get('rw'), 'app_role_role');
  const twins = groupRoles({ ro: { dbUser: 'x_user' }, rw: { dbUser: 'x' } });
  t.not(twins.get('ro'), twins.get('rw'), 'x_user and x would both give x_role');
});

t.test('the script: group roles, login users, rds_iam, privileges per level, idempotent', async (t) => {
  const sql = bootstrapSql(orders, ['public', 'sales']);
  t.match(sql, /^-- dab bootstrap for database orders/);
  t.match(sql, /^-- CREATE ROLE rds_iam NOLOGIN;$/m, 'a commented-out rds_iam for plain PostgreSQL');
  t.notMatch(sql, /^CREATE ROLE rds_iam/m, 'never created for real: RDS has it');
  t.match(sql, /^BEGIN;$/m);
  t.match(sql, /^COMMIT;$/m);

  // Roles are created only when missing.
  const creates = sql.match(/CREATE ROLE "[^"]+" (?:NO)?LOGIN;/g) ?? [];
  t.equal(creates.length, 6, 'three group roles and three login users');
  t.equal((sql.match(/IF NOT EXISTS \(SELECT 1 FROM pg_catalog\.pg_roles WHERE rolname = '/g) ?? []).length, 6, 'each behind a pg_roles check');
  t.match(sql, /CREATE ROLE "orders_ro_role" NOLOGIN;/);
  t.match(sql, /CREATE ROLE "orders_ro_user" LOGIN;/);

  t.match(sql, /GRANT USAGE ON SCHEMA "public" TO "orders_ro_role";\nGRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "orders_ro_role";\nALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES TO "orders_ro_role";/);
  t.match(sql, /GRANT USAGE ON SCHEMA "sales" TO "orders_ro_role";/);
  t.match(sql, /GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "sales" TO "orders_rw_role";/);
  t.match(sql, /GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "sales" TO "orders_rw_role";/);
  t.match(sql, /ALTER DEFAULT PRIVILEGES IN SCHEMA "sales" GRANT USAGE, SELECT ON SEQUENCES TO "orders_rw_role";/);
  t.notMatch(sql, /TABLES IN SCHEMA "[^"]+" TO "orders_monitor_role"/, 'monitor gets no table access');
  t.match(sql, /GRANT pg_monitor TO "orders_monitor_role";/);
  for (const [user, group] of [['orders_ro_user', 'orders_ro_role'], ['orders_rw', 'orders_rw_role'], ['orders_monitor', 'orders_monitor_role']]) {
    t.match(sql, `GRANT rds_iam TO "${user}";`);
    t.match(sql, `GRANT "${group}" TO "${user}";`);
    t.match(sql, `GRANT CONNECT ON DATABASE "orders" TO "${group}";`);
  }
  t.match(sql, /rolsuper OR EXISTS/, 'refuses to put a superuser behind rds_iam');
  t.match(sql, /^-- ro: group role "orders_ro_role" holds the privileges, read only/m, 'each block says what it does');
});

t.test('only the levels the database defines', async (t) => {
  const sql = bootstrapSql({ ...orders, levels: { monitor: { dbUser: 'mon' } } }, ['public']);
  t.notMatch(sql, /SCHEMA/);
  t.match(sql, /GRANT "mon_role" TO "mon";/);
});

t.test('hostile schema names stay quoted identifiers, and comments stay comments', async (t) => {
  const hostile = ['x"; DROP TABLE users; --', "it's", 'line\nbreak', 'back\\slash', '$dab$'];
  const sql = bootstrapSql(orders, hostile);
  t.match(sql, /GRANT USAGE ON SCHEMA "x""; DROP TABLE users; --" TO "orders_ro_role";/);
  t.match(sql, /GRANT USAGE ON SCHEMA "it's" TO/);
  t.match(sql, /^-- Schemas granted on: .*"line break"/m, 'a newline in a name cannot end a comment line early');
  t.notMatch(sql, /^break", /m, 'the header never leaks part of a name onto an uncommented line');
  t.match(sql, /ON SCHEMA "line\nbreak" TO/, 'inside a quoted identifier a newline is just a character');
  const statements = sql.split('\n').filter((l) => /^(GRANT|ALTER|CREATE|DROP)/.test(l));
  t.notOk(statements.some((l) => /^DROP/.test(l)));
});
