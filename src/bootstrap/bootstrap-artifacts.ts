import type { Database } from '../databases/database-schema.js';
import { bootstrapSql } from './bootstrap-sql.js';
import { rolePolicies, type PolicyOptions, type RolePolicies } from './iam-policies.js';

export interface BootstrapArtifacts {
  database: string;
  sql: string;
  roles: RolePolicies[];
  warnings: string[];
}

export type BootstrapSource = Pick<Database, 'name' | 'host' | 'port' | 'region' | 'dbname' | 'roleArn' | 'externalId' | 'resourceId' | 'levels'>;

/** Everything a DBA needs to prepare one database: the SQL, and per target role its two policies. */
export function bootstrapArtifacts(db: BootstrapSource, schemas: readonly string[], opts: PolicyOptions): BootstrapArtifacts {
  const { roles, warnings } = rolePolicies(db, opts);
  return { database: db.name, sql: bootstrapSql(db, schemas), roles, warnings };
}
