import { Type, type Static } from 'typebox';
import { AWS_ACCOUNT_CLAIM, AWS_ACCOUNT_ID, AWS_ISSUER, AWS_PRINCIPAL_ARN, canonicalAwsArn } from '../auth/aws-principal.js';
import { AccessLevelSchema, Labels, SLUG } from '../databases/database-schema.js';

const Issuer = Type.String({ minLength: 1, maxLength: 512 });
// A JWT claim name other than the ones dab reads itself; its value compared as a string.
const ClaimMatch = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,128}$', description: 'Top-level claim name, e.g. "department"' }),
    value: Type.String({ minLength: 1, maxLength: 512, description: 'Matches a string claim equal to it, or an array claim containing it' }),
  },
  { additionalProperties: false },
);

export const PrincipalSchema = Type.Union(
  [
    Type.Object({ issuer: Issuer, subject: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
    Type.Object({ issuer: Issuer, group: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
    Type.Object({ issuer: Issuer, claim: ClaimMatch }, { additionalProperties: false }),
    Type.Object(
      { aws: Type.String({ pattern: AWS_PRINCIPAL_ARN, maxLength: 2048, description: 'An IAM role or user ARN; a role path is ignored (account + role name match)' }) },
      { additionalProperties: false },
    ),
    Type.Object({ awsAccount: Type.String({ pattern: AWS_ACCOUNT_ID, description: 'Every AWS role and user of this account' }) }, { additionalProperties: false }),
  ],
  { description: 'Who: issuer + subject, issuer + group, issuer + a claim equal to a value, an AWS role/user ARN, or an AWS account' },
);
export type MappingPrincipal = Static<typeof PrincipalSchema>;
/** A principal in the form callers are matched in: an issuer and one of subject, group or claim. */
export type MatchPrincipal = Exclude<MappingPrincipal, { aws: string } | { awsAccount: string }>;

/**
 * AWS principals as the issuer "aws" sees them: a role/user ARN is the canonical (path-free)
 * subject, an account the aws:account claim every AWS caller carries (src/auth/aws-principal.ts).
 */
export function matchPrincipal(p: MappingPrincipal): MatchPrincipal {
  if ('aws' in p) return { issuer: AWS_ISSUER, subject: canonicalAwsArn(p.aws) ?? p.aws };
  if ('awsAccount' in p) return { issuer: AWS_ISSUER, claim: { name: AWS_ACCOUNT_CLAIM, value: p.awsAccount } };
  return p;
}

// Names are slugs that cannot be mistaken for an id, so /v1/mappings/{ref} takes either.
export const MAPPING_NAME = '^(?![0-9a-f]{8}-[0-9a-f]{4}-)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$';

const MappingFields = {
  principal: PrincipalSchema,
  database: Type.Optional(Type.String({ pattern: SLUG, description: 'One database by name (or give selector)' })),
  selector: Type.Optional(Labels('Every database whose labels include all of these (or give database)', 1)),
  levels: Type.Array(AccessLevelSchema, { minItems: 1, maxItems: 3, uniqueItems: true }),
  notBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Before this instant the mapping grants nothing' })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'From this instant the mapping grants nothing' })),
  requireReason: Type.Optional(Type.Boolean({ description: 'Grants through this mapping need a reason in the request (it is audited)' })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Who answers for this mapping, e.g. a team or a ticket' })),
};

export const MappingInput = Type.Object(
  { name: Type.Optional(Type.String({ pattern: MAPPING_NAME, description: 'Stable name (default: generated); apply matches on it' })), ...MappingFields },
  { additionalProperties: false },
);
export type MappingInput = Static<typeof MappingInput>;

export const Mapping = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String({ pattern: MAPPING_NAME }),
    ...MappingFields,
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Mapping', additionalProperties: false },
);
export type Mapping = Static<typeof Mapping>;

export const MappingRef = Type.Object(
  { ref: Type.String({ pattern: `^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$`, description: 'Mapping id or name' }) },
  { additionalProperties: false },
);

export const MappingFilter = Type.Object(
  {
    database: Type.Optional(Type.String({ pattern: SLUG, description: 'Mappings naming this database (selector mappings: see explain)' })),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type MappingFilter = Static<typeof MappingFilter>;

/** The principal's kind and key, for indexes, messages and overlap checks. */
export function principalKey(principal: MappingPrincipal): string {
  const p = matchPrincipal(principal);
  if ('subject' in p) return `${p.issuer}\u0000s\u0000${p.subject}`;
  if ('group' in p) return `${p.issuer}\u0000g\u0000${p.group}`;
  return `${p.issuer}\u0000c\u0000${p.claim.name}\u0000${p.claim.value}`;
}

export function describePrincipal(p: MappingPrincipal): string {
  if ('aws' in p) return `AWS principal ${p.aws}`;
  if ('awsAccount' in p) return `AWS account ${p.awsAccount}`;
  if ('subject' in p) return `subject ${p.subject} of ${p.issuer}`;
  if ('group' in p) return `group ${p.group} of ${p.issuer}`;
  return `claim ${p.claim.name}=${p.claim.value} of ${p.issuer}`;
}
