import { Type, type Static } from 'typebox';
import { AccessLevelSchema, SLUG } from '../databases/database-schema.js';

const PrincipalSchema = Type.Union(
  [
    Type.Object({ issuer: Type.String({ minLength: 1, maxLength: 512 }), subject: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
    Type.Object({ issuer: Type.String({ minLength: 1, maxLength: 512 }), group: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
  ],
  { description: 'Who: issuer + subject, or issuer + group' },
);
export type MappingPrincipal = Static<typeof PrincipalSchema>;

export const MappingInput = Type.Object(
  {
    principal: PrincipalSchema,
    database: Type.String({ pattern: SLUG }),
    levels: Type.Array(AccessLevelSchema, { minItems: 1, maxItems: 3, uniqueItems: true }),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'After this instant the mapping grants nothing' })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type MappingInput = Static<typeof MappingInput>;

export const Mapping = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    ...MappingInput.properties,
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Mapping', additionalProperties: false },
);
export type Mapping = Static<typeof Mapping>;

export const MappingId = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const MappingFilter = Type.Object(
  {
    database: Type.Optional(Type.String({ pattern: SLUG })),
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type MappingFilter = Static<typeof MappingFilter>;
