import { Type, type Static } from 'typebox';
import { CreateDatabaseBody, SLUG } from '../databases/database-schema.js';
import { MAPPING_NAME, MappingInput } from '../mappings/mapping-schema.js';
import { RequestPolicyDeclaration } from '../access-requests/request-policy-schema.js';

// The declarative side of the admin API: one document of databases and mappings (what
// `dab admin apply -f access.yaml` sends), and batches of put/delete operations, each run as one
// transaction, each answerable as a dry-run that lists who gains and who loses access.

export const MappingDeclaration = Type.Object(
  { ...MappingInput.properties, name: Type.String({ pattern: MAPPING_NAME, description: 'Stable name: what apply matches on' }) },
  { additionalProperties: false },
);
export type MappingDeclaration = Static<typeof MappingDeclaration>;

export const AccessDocument = Type.Object(
  {
    databases: Type.Optional(Type.Array(CreateDatabaseBody, { maxItems: 20_000 })),
    mappings: Type.Optional(Type.Array(MappingDeclaration, { maxItems: 200_000 })),
    requestPolicies: Type.Optional(Type.Array(RequestPolicyDeclaration, { maxItems: 10_000, description: 'Just-in-time access: who may request which levels, who approves, for how long, break-glass' })),
  },
  { $id: 'AccessDocument', additionalProperties: false },
);
export type AccessDocument = Static<typeof AccessDocument>;

export const ApplyRequest = Type.Object(
  {
    document: AccessDocument,
    prune: Type.Optional(Type.Boolean({ description: 'Delete databases and mappings the document does not declare' })),
    dryRun: Type.Optional(Type.Boolean({ description: 'Plan and report; change nothing' })),
  },
  { additionalProperties: false },
);
export type ApplyRequest = Static<typeof ApplyRequest>;

// Versions are PostgreSQL integers: a larger number can never match, and would fail in the store.
const IfVersion = Type.Integer({ minimum: 1, maximum: 2147483647, description: 'The version you read (its ETag)' });
export const Operation = Type.Union([
  Type.Object({ action: Type.Literal('put'), database: CreateDatabaseBody, ifVersion: Type.Optional(IfVersion) }, { additionalProperties: false }),
  Type.Object({ action: Type.Literal('put'), mapping: MappingDeclaration, ifVersion: Type.Optional(IfVersion) }, { additionalProperties: false }),
  Type.Object({ action: Type.Literal('delete'), database: Type.String({ pattern: SLUG }), ifVersion: Type.Optional(IfVersion) }, { additionalProperties: false }),
  Type.Object({ action: Type.Literal('delete'), mapping: Type.String({ pattern: MAPPING_NAME }), ifVersion: Type.Optional(IfVersion) }, { additionalProperties: false }),
]);
export type Operation = Static<typeof Operation>;

export const ChangesRequest = Type.Object(
  {
    operations: Type.Array(Operation, { minItems: 1, maxItems: 1000, description: 'Run in order, in one transaction' }),
    dryRun: Type.Optional(Type.Boolean({ description: 'Plan and report; change nothing' })),
  },
  { additionalProperties: false },
);
export type ChangesRequest = Static<typeof ChangesRequest>;

const ImpactPrincipal = Type.Object(
  {
    issuer: Type.String(),
    subject: Type.Optional(Type.String()),
    group: Type.Optional(Type.String()),
    claim: Type.Optional(Type.Object({ name: Type.String(), value: Type.String() })),
    aws: Type.Optional(Type.String({ description: 'An AWS role or user ARN (issuer "aws")' })),
    awsAccount: Type.Optional(Type.String({ description: 'Every AWS principal of this account (issuer "aws")' })),
  },
  { description: 'A subject (named by a mapping or seen in the audit log), the members of a group or claim, or an AWS principal or account' },
);

const AccessDelta = Type.Object({
  principal: ImpactPrincipal,
  seenInAuditLog: Type.Boolean({ description: 'This caller made requests within the audit window' }),
  database: Type.String(),
  level: Type.String(),
});
export type AccessDelta = Static<typeof AccessDelta>;

export const PlanResult = Type.Object(
  {
    dryRun: Type.Boolean(),
    changes: Type.Array(
      Type.Object({
        kind: Type.Enum(['database', 'mapping', 'requestPolicy']),
        name: Type.String(),
        action: Type.Enum(['create', 'update', 'delete']),
      }),
      { description: 'What was (or would be) changed, in order; unchanged declarations are not listed' },
    ),
    unchanged: Type.Integer({ description: 'Declarations that already matched the store' }),
    impact: Type.Object({
      principalsCompared: Type.Integer(),
      auditWindowDays: Type.Integer(),
      gains: Type.Array(AccessDelta),
      losses: Type.Array(AccessDelta),
    }),
  },
  { $id: 'PlanResult', additionalProperties: false },
);
export type PlanResult = Static<typeof PlanResult>;
