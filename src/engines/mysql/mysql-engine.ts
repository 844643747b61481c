import type { Engine } from '../engine.js';
import { postgresEngine } from '../postgres/postgres-engine.js';
import { dbUserProblems, RDS_DB_FIELDS, rdsDbSettings } from '../rds-db/rds-db-fields.js';
import { rdsDbConnectPermission } from '../rds-db/rds-db-policy.js';
import { rdsDbTarget } from '../rds-db/rds-db-token.js';
import { mysqlBootstrapSql } from './bootstrap-sql.js';
import { MYSQL_CLIENT_FORMATS } from './client-formats.js';
import { mysqlLogin } from './login-check.js';

// MySQL 8 and MariaDB limit user names to 32 and 80 characters; RDS's own accounts are off limits.
const MYSQL_USER = /^[A-Za-z_][A-Za-z0-9_$-]{0,31}$/;
const RESERVED = new Set(['root', 'rdsadmin', 'rdsrepladmin', 'rdsproxyadmin', 'mysql.sys', 'mysql.session', 'mysql.infoschema']);

/**
 * RDS / Aurora MySQL and RDS MariaDB: the same rds-db token as PostgreSQL, users IDENTIFIED WITH
 * AWSAuthenticationPlugin, the token sent with the cleartext plugin over TLS (which is why sslmode
 * has no "disable": a registration without TLS would never log in).
 */
export const mysqlEngine: Engine = {
  name: 'mysql',
  title: 'RDS/Aurora MySQL and RDS MariaDB',
  registration: {
    fields: RDS_DB_FIELDS,
    required: ['dbname', 'sslmode'],
    levelFields: {},
    requiredLevelFields: [],
    defaults: { port: 3306, sslmode: 'verify-full' },
    problems: (db) => [
      ...dbUserProblems(db, (u) => MYSQL_USER.test(u) && !RESERVED.has(u), 'must be a MySQL user name of at most 32 characters (letters, digits, _, $ and -), and not one of RDS\'s own (root, rdsadmin, …)'),
    ],
  },
  tokenTarget: (db, dbUser) => rdsDbTarget(db.host, db.port, dbUser),
  // The same connection fields as PostgreSQL's grant: database name and TLS mode.
  grant: postgresEngine.grant,
  bootstrap: (db, opts) => {
    const { dbname } = rdsDbSettings(db);
    return { sql: mysqlBootstrapSql({ ...db, dbname }, opts.schemas ?? [dbname]), warnings: [] };
  },
  connectPermission: rdsDbConnectPermission,
  login: mysqlLogin,
  clientFormats: MYSQL_CLIENT_FORMATS,
};
