import { Type } from 'typebox';
import type { Database } from '../../databases/database-schema.js';
import type { FieldProblem } from '../engine.js';

// Registration fields every RDS/Aurora engine (PostgreSQL, MySQL, MariaDB) shares.

const DB_NAME = '^[A-Za-z_][A-Za-z0-9_$-]{0,62}$';
// RDS DbiResourceId (instances) or cluster resource id (Aurora): part of the rds-db:connect ARN.
const RESOURCE_ID = '^(?:db|cluster)-[A-Z0-9]{1,128}$';
export const SSLMODES = ['require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSLMODES)[number];

export const RDS_DB_FIELDS = {
  dbname: Type.String({ pattern: DB_NAME, description: 'Default database name for connections' }),
  sslmode: Type.Enum([...SSLMODES], { description: 'TLS, which RDS requires for IAM logins: require, verify-ca or verify-full (default; there is no "disable")' }),
  resourceId: Type.String({ pattern: RESOURCE_ID, description: 'DbiResourceId or cluster resource id, for the rds-db:connect policy dab generates' }),
};

/** What an rds-db engine reads of a registration (validated by RDS_DB_FIELDS). */
export interface RdsDbSettings {
  dbname: string;
  sslmode: SslMode;
  resourceId?: string;
}
export const rdsDbSettings = (db: Database): RdsDbSettings => db as unknown as RdsDbSettings;

/** Each level's DB user must match the engine's own rule for a login name. */
export function dbUserProblems(db: Database, valid: (user: string) => boolean, rule: string): FieldProblem[] {
  return Object.entries(db.levels).flatMap(([level, spec]) => (spec && !valid(spec.dbUser) ? [{ field: `body.levels.${level}.dbUser`, message: rule }] : []));
}
