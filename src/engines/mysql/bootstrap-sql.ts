import { ACCESS_LEVELS, type AccessLevel } from '../../databases/access-levels.js';
import type { Levels } from '../../databases/database-schema.js';
import { mysqlAccount, quoteMysqlIdent } from './mysql-sql.js';

// The SQL a DBA runs once per MySQL/MariaDB database: one login user per level, authenticated by
// RDS's AWSAuthenticationPlugin (IAM tokens only, over TLS), with the level's privileges. Safe to
// run again: CREATE USER IF NOT EXISTS, ALTER USER and GRANT change nothing the second time.

export interface MysqlBootstrapTarget {
  name: string;
  host: string;
  port: number;
  dbname: string;
  levels: Levels;
}

const PURPOSE: Record<AccessLevel, string> = {
  ro: 'read only: SELECT (and SHOW VIEW) on the databases',
  rw: 'read and write: SELECT, INSERT, UPDATE, DELETE on the databases',
  monitor: 'monitoring: PROCESS, REPLICATION CLIENT and SELECT on performance_schema; no table access',
};

function privileges(level: AccessLevel, account: string, databases: readonly string[]): string[] {
  if (level === 'monitor') return [`GRANT PROCESS, REPLICATION CLIENT ON *.* TO ${account};`, `GRANT SELECT ON performance_schema.* TO ${account};`];
  const what = level === 'ro' ? 'SELECT, SHOW VIEW' : 'SELECT, INSERT, UPDATE, DELETE';
  return databases.map((db) => `GRANT ${what} ON ${quoteMysqlIdent(db)}.* TO ${account};`);
}

/** The whole script; `databases` are the databases ro and rw are granted on (default: the registered one). */
export function mysqlBootstrapSql(db: MysqlBootstrapTarget, databases: readonly string[]): string {
  const out: string[] = [
    `-- dab bootstrap for database ${db.name} (MySQL/MariaDB): ${db.host}:${db.port}, database ${quoteMysqlIdent(db.dbname)}`,
    '-- Run it as the master user, e.g.',
    `--   mysql --host=${db.host} --port=${db.port} --user=<master user> --password --ssl-mode=REQUIRED < ${db.name}.sql`,
    '--   (MariaDB client: mariadb --ssl … ).',
    '-- It is idempotent: users are created only when missing and GRANTs repeat harmlessly.',
    `-- Databases granted on: ${databases.map(quoteMysqlIdent).join(', ')}`,
    '--',
    "-- AWSAuthenticationPlugin exists only on Amazon RDS / Aurora: such a user logs in only with an IAM",
    '-- auth token, sent with the cleartext plugin over TLS (REQUIRE SSL).',
  ];
  for (const level of ACCESS_LEVELS) {
    const spec = db.levels[level];
    if (!spec) continue;
    const account = mysqlAccount(spec.dbUser);
    out.push(
      '',
      `-- ${level}: ${account}, ${PURPOSE[level]}`,
      `CREATE USER IF NOT EXISTS ${account} IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;`,
      // An existing user keeps its authentication otherwise: make it IAM and TLS only.
      `ALTER USER ${account} IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;`,
      ...privileges(level, account, databases),
    );
  }
  out.push('');
  return out.join('\n');
}
