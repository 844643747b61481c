import { Type } from 'typebox';
import { ENGINE_NAMES, DEFAULT_ENGINE } from '../engines/registry.js';
import { ENGINE_FIELDS, ENGINE_LEVEL_FIELDS, engineProblems } from '../engines/registration.js';
import { ACCESS_LEVELS, HOSTNAME, type AccessLevel } from './access-levels.js';

// Shapes and limits AWS and the engines would otherwise reject later, at the worst moment. The
// fields of one engine only (dbname, sslmode, a cache name, …) come from the engines (src/engines/).

export { ACCESS_LEVELS, AccessLevelSchema, type AccessLevel } from './access-levels.js';

export const SLUG = '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$';
const REGION = '^(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[bef]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\\d{1,2}$';
// IAM role ARN: partition, 12-digit account, optional path, name of 1–64 [\w+=,.@-].
export const ROLE_ARN = '^arn:(?:aws|aws-cn|aws-us-gov):iam::\\d{12}:role/(?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$';
const EXTERNAL_ID = '^[\\w+=,.@:/-]{2,1224}$';
// Any engine's login user name; each engine narrows it (e.g. PostgreSQL: lower case, no pg_).
const DB_USER = '^[A-Za-z_][A-Za-z0-9_$-]{0,62}$';
// Label keys and values as Kubernetes spells them, so selectors read the same everywhere.
export const LABEL_KEY = '^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$';
export const LABEL_VALUE = '^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$';

/** key → value; a label selector is the same shape and matches databases carrying all its pairs. */
export const Labels = (description: string, minProperties = 0) =>
  Type.Record(Type.String({ pattern: LABEL_KEY }), Type.String({ pattern: LABEL_VALUE }), { description, minProperties, maxProperties: 64, additionalProperties: false });

const LevelSpec = Type.Object(
  {
    dbUser: Type.String({ pattern: DB_USER, description: "This level's DB user (PostgreSQL and MySQL: granted IAM login; ElastiCache: the user id); the engine narrows its shape" }),
    roleArn: Type.Optional(Type.String({ pattern: ROLE_ARN, description: "This level's own role (least privilege); default: the database's role" })),
    ...ENGINE_LEVEL_FIELDS,
  },
  { additionalProperties: false },
);

const commonFields = {
  // Optional with a default: the server fills it in, and a document without it (every one from before engines) stays valid.
  engine: Type.Optional(Type.Enum([...ENGINE_NAMES], { default: DEFAULT_ENGINE, description: `Which engine the database runs: ${ENGINE_NAMES.join(', ')} (default ${DEFAULT_ENGINE}); decides the fields below marked "Engine:"` })),
  host: Type.String({ pattern: HOSTNAME, description: 'The real endpoint host (IAM auth does not support CNAMEs)' }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: "Default: the engine's (postgres 5432, mysql 3306, valkey 6379)" })),
  region: Type.String({ pattern: REGION, description: 'AWS region, e.g. eu-west-1' }),
  roleArn: Type.String({ pattern: ROLE_ARN, description: "Role to assume in the database's account" }),
  externalId: Type.Optional(Type.String({ pattern: EXTERNAL_ID, description: "ExternalId the role's trust policy requires" })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  labels: Type.Optional(Labels('What mappings can select this database by, e.g. {"env": "prod", "team": "payments"}')),
  levels: Type.Object(
    { ro: Type.Optional(LevelSpec), rw: Type.Optional(LevelSpec), monitor: Type.Optional(LevelSpec) },
    { additionalProperties: false, minProperties: 1 },
  ),
};

export interface LevelSpec {
  dbUser: string;
  roleArn?: string;
  /** The engine's own level fields (e.g. an ElastiCache access string). */
  readonly [field: string]: unknown;
}
export type Levels = Partial<Record<AccessLevel, LevelSpec>>;

/** A registration as sent: the common fields, plus the engine's own (checked by engineProblems). */
export interface DatabaseInput {
  engine?: string;
  host: string;
  port?: number;
  region: string;
  roleArn: string;
  externalId?: string;
  description?: string;
  labels?: Record<string, string>;
  levels: Levels;
  readonly [field: string]: unknown;
}
export type CreateDatabaseBody = DatabaseInput & { name: string };
/** As stored: the engine and the port always set. */
export interface Database extends DatabaseInput {
  name: string;
  engine: string;
  port: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export const DatabaseInput = Type.Object({ ...commonFields, ...ENGINE_FIELDS }, { additionalProperties: false });

export const CreateDatabaseBody = Type.Object(
  { name: Type.String({ pattern: SLUG, description: 'Slug: lower-case letters, digits and dashes' }), ...DatabaseInput.properties },
  { additionalProperties: false },
);

export const Database = Type.Object(
  {
    ...CreateDatabaseBody.properties,
    engine: Type.Enum([...ENGINE_NAMES]),
    port: Type.Integer(),
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Database', additionalProperties: false },
);

export const DatabaseName = Type.Object({ name: Type.String({ pattern: SLUG }) }, { additionalProperties: false });

const PARTITION_OF_REGION = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/**
 * Rules JSON Schema cannot say: ARNs in the region's partition, one DB user per level, then the
 * engine's (its fields only, its own rules). `db` has the engine's defaults filled in.
 */
export function crossFieldProblems(db: Database): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const partition = PARTITION_OF_REGION(db.region);
  const arns: Array<[string, string]> = [['body.roleArn', db.roleArn]];
  const users = new Map<string, string>();
  for (const level of ACCESS_LEVELS) {
    const spec = db.levels[level];
    if (!spec) continue;
    if (spec.roleArn) arns.push([`body.levels.${level}.roleArn`, spec.roleArn]);
    const other = users.get(spec.dbUser);
    if (other) problems.push({ field: `body.levels.${level}.dbUser`, message: `is the same DB user as level ${other}; each level needs its own user` });
    users.set(spec.dbUser, level);
  }
  for (const [field, arn] of arns) {
    if (arn.split(':')[1] !== partition) problems.push({ field, message: `must be in partition ${partition} (region ${db.region})` });
  }
  return [...problems, ...engineProblems(db)];
}
