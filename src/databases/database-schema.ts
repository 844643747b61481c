import { Type, type Static } from 'typebox';

// Shapes and limits AWS and PostgreSQL would otherwise reject later, at the worst moment.

export const ACCESS_LEVELS = ['ro', 'rw', 'monitor'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
export const AccessLevelSchema = Type.Enum([...ACCESS_LEVELS], { description: 'ro, rw or monitor' });

export const SLUG = '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$';
// Bare DNS name or IPv4 address: no scheme, port, path or CNAME-looking trailing dot.
const HOSTNAME = '^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
const REGION = '^(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[bef]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\\d{1,2}$';
// IAM role ARN: partition, 12-digit account, optional path, name of 1–64 [\w+=,.@-].
export const ROLE_ARN = '^arn:(?:aws|aws-cn|aws-us-gov):iam::\\d{12}:role/(?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$';
const EXTERNAL_ID = '^[\\w+=,.@:/-]{2,1224}$';
// A PostgreSQL login role usable without quoting; pg_ names are reserved by PostgreSQL.
const DB_USER = '^(?!pg_)[a-z_][a-z0-9_$]{0,62}$';
const DB_NAME = '^[A-Za-z_][A-Za-z0-9_$-]{0,62}$';
// RDS DbiResourceId (instances) or cluster resource id (Aurora): part of the rds-db:connect ARN.
const RESOURCE_ID = '^(?:db|cluster)-[A-Z0-9]{1,128}$';
// Label keys and values as Kubernetes spells them, so selectors read the same everywhere.
export const LABEL_KEY = '^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$';
export const LABEL_VALUE = '^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$';

/** key → value; a label selector is the same shape and matches databases carrying all its pairs. */
export const Labels = (description: string, minProperties = 0) =>
  Type.Record(Type.String({ pattern: LABEL_KEY }), Type.String({ pattern: LABEL_VALUE }), { description, minProperties, maxProperties: 64, additionalProperties: false });

const LevelSpec = Type.Object(
  {
    dbUser: Type.String({ pattern: DB_USER, description: 'PostgreSQL login user for this level (granted rds_iam)' }),
    roleArn: Type.Optional(Type.String({ pattern: ROLE_ARN, description: "This level's own role (least privilege); default: the database's role" })),
  },
  { additionalProperties: false },
);

export const DatabaseInput = Type.Object(
  {
    host: Type.String({ pattern: HOSTNAME, description: 'The real endpoint host (RDS does not support CNAMEs for IAM auth)' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 5432 }),
    region: Type.String({ pattern: REGION, description: 'AWS region, e.g. eu-west-1' }),
    dbname: Type.String({ pattern: DB_NAME, description: 'Default database name for connections' }),
    roleArn: Type.String({ pattern: ROLE_ARN, description: "Role to assume in the database's account" }),
    externalId: Type.Optional(Type.String({ pattern: EXTERNAL_ID, description: "ExternalId the role's trust policy requires" })),
    sslmode: Type.Enum(['require', 'verify-ca', 'verify-full'], { default: 'verify-full' }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    labels: Type.Optional(Labels('What mappings can select this database by, e.g. {"env": "prod", "team": "payments"}')),
    resourceId: Type.Optional(Type.String({ pattern: RESOURCE_ID, description: 'DbiResourceId or cluster resource id, for the rds-db:connect policy dab generates' })),
    levels: Type.Object(
      { ro: Type.Optional(LevelSpec), rw: Type.Optional(LevelSpec), monitor: Type.Optional(LevelSpec) },
      { additionalProperties: false, minProperties: 1 },
    ),
  },
  { additionalProperties: false },
);
export type DatabaseInput = Static<typeof DatabaseInput>;

export const CreateDatabaseBody = Type.Object(
  { name: Type.String({ pattern: SLUG, description: 'Slug: lower-case letters, digits and dashes' }), ...DatabaseInput.properties },
  { additionalProperties: false },
);
export type CreateDatabaseBody = Static<typeof CreateDatabaseBody>;

export const Database = Type.Object(
  {
    ...CreateDatabaseBody.properties,
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Database', additionalProperties: false },
);
export type Database = Static<typeof Database>;

export const DatabaseName = Type.Object({ name: Type.String({ pattern: SLUG }) }, { additionalProperties: false });

const PARTITION_OF_REGION = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/** Rules JSON Schema cannot say: ARNs in the region's partition, one DB user per level. */
export function crossFieldProblems(db: DatabaseInput): { field: string; message: string }[] {
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
  return problems;
}
