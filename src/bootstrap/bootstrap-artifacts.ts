import type { Database } from '../databases/database-schema.js';
import { engineOf } from '../engines/registry.js';
import { rolePolicies, type PolicyOptions, type RolePolicies } from './iam-policies.js';

export interface BootstrapArtifacts {
  database: string;
  engine: string;
  /** SQL engines: idempotent SQL for the master user. */
  sql?: string;
  /** Engines prepared through an AWS API (ElastiCache): the commands to run. */
  commands?: string;
  roles: RolePolicies[];
  warnings: string[];
}

/** Everything a DBA needs to prepare one database: the engine's side (SQL or commands), and per target role its two policies. */
export function bootstrapArtifacts(db: Database, schemas: readonly string[] | undefined, opts: PolicyOptions): BootstrapArtifacts {
  const engine = engineOf(db);
  const { roles, warnings } = rolePolicies(db, opts, engine.connectPermission);
  const side = engine.bootstrap(db, schemas ? { schemas } : {});
  return {
    database: db.name,
    engine: engine.name,
    ...(side.sql !== undefined ? { sql: side.sql } : {}),
    ...(side.commands !== undefined ? { commands: side.commands } : {}),
    roles,
    warnings: [...side.warnings, ...warnings],
  };
}
