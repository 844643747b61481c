import t from 'tap';
import { mysqlBootstrapSql } from '../../src/engines/mysql/bootstrap-sql.js';
import { quoteMysqlIdent, quoteMysqlString } from '../../src/engines/mysql/mysql-sql.js';

const shop = { name: 'shop', host: 'shop.cluster-abc.us-east-1.rds.amazonaws.com', port: 3306, dbname: 'shop', levels: { ro: { dbUser: 'shop_ro' }, rw: { dbUser: 'shop_rw' }, monitor: { dbUser: 'shop_mon' } } };

t.test('one IAM-only, TLS-only user per level with its grants, idempotent', async (t) => {
  const sql = mysqlBootstrapSql(shop, ['shop']);
  for (const user of ['shop_ro', 'shop_rw', 'shop_mon']) {
    t.match(sql, `CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;`);
    t.match(sql, `ALTER USER '${user}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;`, 'an existing user is made IAM-only too');
  }
  t.match(sql, "GRANT SELECT, SHOW VIEW ON `shop`.* TO 'shop_ro'@'%';");
  t.match(sql, "GRANT SELECT, INSERT, UPDATE, DELETE ON `shop`.* TO 'shop_rw'@'%';");
  t.match(sql, "GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'shop_mon'@'%';");
  t.notMatch(sql, /shop_ro'@'%';\n.*INSERT/, 'ro gets no write');
  t.notMatch(sql, /\bDROP\b|\bCREATE USER (?!IF NOT EXISTS)/, 'nothing that would fail or destroy on a second run');
  t.equal(mysqlBootstrapSql(shop, ['shop']), sql, 'the same input, the same script');
});

t.test('databases from the query string are quoted, whatever they hold', async (t) => {
  const sql = mysqlBootstrapSql({ ...shop, levels: { ro: { dbUser: 'shop_ro' } } }, ['we`ird; DROP DATABASE x; --', 'sales']);
  t.match(sql, "GRANT SELECT, SHOW VIEW ON `we``ird; DROP DATABASE x; --`.* TO 'shop_ro'@'%';");
  t.match(sql, "ON `sales`.*");
  t.equal(quoteMysqlString("o'brien"), "'o''brien'");
  t.throws(() => quoteMysqlIdent(''), RangeError);
  t.throws(() => quoteMysqlIdent('x'.repeat(65)), RangeError);
  t.throws(() => quoteMysqlString('a\\b'), RangeError);
});
