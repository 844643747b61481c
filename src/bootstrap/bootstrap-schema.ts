import { Type, type Static } from 'typebox';
import { AccessLevelSchema } from '../databases/database-schema.js';
import { MAX_IDENTIFIER_BYTES } from './sql-quote.js';

// Shapes of the DBA's bootstrap and preflight-check endpoints.

const SchemaName = Type.String({ minLength: 1, maxLength: MAX_IDENTIFIER_BYTES, pattern: '^[^\\u0000]+$', description: 'A schema to grant ro and rw on (any name; it is quoted)' });

export const MAX_SCHEMAS = 32;

export const BootstrapQuery = Type.Object(
  {
    schema: Type.Optional(Type.Union([SchemaName, Type.Array(SchemaName, { minItems: 1, maxItems: MAX_SCHEMAS })], { description: 'Repeatable. PostgreSQL: schemas (default public); MySQL: databases (default the registered dbname)' })),
  },
  { additionalProperties: false },
);
export type BootstrapQuery = Static<typeof BootstrapQuery>;

const PolicyStatement = Type.Object(
  {
    Sid: Type.String(),
    Effect: Type.Literal('Allow'),
    Principal: Type.Optional(Type.Object({ AWS: Type.String() }, { additionalProperties: false })),
    Action: Type.String(),
    Resource: Type.Optional(Type.Array(Type.String())),
    Condition: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()))),
  },
  { additionalProperties: false },
);
const PolicyDocument = Type.Object({ Version: Type.Literal('2012-10-17'), Statement: Type.Array(PolicyStatement) }, { additionalProperties: false });

const RoleArtifacts = Type.Object(
  {
    roleArn: Type.String(),
    levels: Type.Array(AccessLevelSchema, { description: 'The access levels that use this role' }),
    trustPolicy: Type.Object(PolicyDocument.properties, { additionalProperties: false, description: "The role's trust policy: dab's principal may AssumeRole (with the ExternalId) and SetSourceIdentity" }),
    permissionPolicy: Type.Object(PolicyDocument.properties, { additionalProperties: false, description: "The engine's connect permission (rds-db:connect, elasticache:Connect) on exactly the DB users of these levels" }),
    sizes: Type.Object(
      { trustPolicy: Type.Integer(), permissionPolicy: Type.Integer() },
      { additionalProperties: false, description: 'Characters as IAM counts them (whitespace excluded): trust ≤ 2,048 by default (4,096 max), inline ≤ 10,240, managed ≤ 6,144' },
    ),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const BootstrapResponse = Type.Object(
  {
    database: Type.String(),
    engine: Type.String(),
    sql: Type.Optional(Type.String({ description: 'SQL engines: idempotent SQL for the master user (PostgreSQL: group roles, login users, rds_iam; MySQL: users with AWSAuthenticationPlugin and grants)' })),
    commands: Type.Optional(Type.String({ description: 'Engines prepared through an AWS API (ElastiCache): the commands that create the users and the user group' })),
    roles: Type.Array(RoleArtifacts, { description: 'One entry per distinct target role' }),
    warnings: Type.Array(Type.String(), { description: 'Placeholders to replace and other things to fix before use' }),
  },
  { additionalProperties: false },
);

export const CheckBody = Type.Object(
  { login: Type.Optional(Type.Boolean({ default: true, description: 'Also log in with each token (needs a network path from dab to the database)' })) },
  { additionalProperties: false },
);
export type CheckBody = Static<typeof CheckBody>;

const CheckStep = Type.Object(
  {
    step: Type.Enum(['assume_role', 'mint_token', 'login']),
    status: Type.Enum(['ok', 'failed', 'skipped']),
    message: Type.String(),
  },
  { additionalProperties: false },
);

export const CheckResponse = Type.Object(
  {
    database: Type.String(),
    ok: Type.Boolean({ description: 'No step failed (a login skipped as unreachable is not a failure)' }),
    levels: Type.Array(
      Type.Object({ level: AccessLevelSchema, dbUser: Type.String(), roleArn: Type.String(), steps: Type.Array(CheckStep) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
