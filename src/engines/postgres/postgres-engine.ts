import { Type } from 'typebox';
import type { Engine } from '../engine.js';
import { dbUserProblems, RDS_DB_FIELDS, rdsDbSettings } from '../rds-db/rds-db-fields.js';
import { rdsDbConnectPermission } from '../rds-db/rds-db-policy.js';
import { rdsDbTarget } from '../rds-db/rds-db-token.js';
import { bootstrapSql } from './bootstrap-sql.js';
import { POSTGRES_CLIENT_FORMATS } from './client-formats.js';
import { postgresLogin } from './login-check.js';

// A PostgreSQL login role usable without quoting; pg_ names are reserved by PostgreSQL.
const PG_USER = /^(?!pg_)[a-z_][a-z0-9_$]{0,62}$/;

/** RDS / Aurora PostgreSQL: rds-db tokens, users granted rds_iam, libpq-style client formats. */
export const postgresEngine: Engine = {
  name: 'postgres',
  title: 'RDS/Aurora PostgreSQL',
  registration: {
    fields: RDS_DB_FIELDS,
    required: ['dbname', 'sslmode'],
    levelFields: {},
    requiredLevelFields: [],
    defaults: { port: 5432, sslmode: 'verify-full' },
    problems: (db) => dbUserProblems(db, (u) => PG_USER.test(u), 'must be a PostgreSQL role name usable without quoting: a-z, 0-9, _ and $, starting with a letter or _, and not pg_…'),
  },
  tokenTarget: (db, dbUser) => rdsDbTarget(db.host, db.port, dbUser),
  grant: {
    schema: {
      dbname: Type.String({ description: 'Database to connect to (SQL engines)' }),
      sslmode: Type.Enum(['require', 'verify-ca', 'verify-full'], { description: 'RDS requires TLS for IAM logins (SQL engines)' }),
    },
    fields: (db) => ({ dbname: rdsDbSettings(db).dbname, sslmode: rdsDbSettings(db).sslmode }),
  },
  bootstrap: (db, opts) => ({ sql: bootstrapSql({ ...db, dbname: rdsDbSettings(db).dbname }, opts.schemas ?? ['public']), warnings: [] }),
  connectPermission: rdsDbConnectPermission,
  login: postgresLogin,
  clientFormats: POSTGRES_CLIENT_FORMATS,
};
