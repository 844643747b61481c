import { Type, type Static } from 'typebox';
import { AccessLevelSchema, SLUG } from '../databases/database-schema.js';
import { Mapping } from './mapping-schema.js';

const ClaimValue = Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean(), Type.Array(Type.String({ maxLength: 512 }), { maxItems: 256 })]);

export const ExplainRequest = Type.Object(
  {
    principal: Type.Object(
      {
        issuer: Type.String({ minLength: 1, maxLength: 512 }),
        subject: Type.String({ minLength: 1, maxLength: 512 }),
        groups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 })),
        claims: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,128}$' }), ClaimValue, { maxProperties: 64, additionalProperties: false })),
      },
      { additionalProperties: false, description: 'Who to explain for: as their token would present them' },
    ),
    database: Type.String({ pattern: SLUG }),
    access: AccessLevelSchema,
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'Explain as of this instant (default: now)' })),
  },
  { additionalProperties: false },
);
export type ExplainRequest = Static<typeof ExplainRequest>;

export const Explanation = Type.Object(
  {
    at: Type.String({ format: 'date-time' }),
    allowed: Type.Boolean(),
    reason: Type.String({ description: 'mapping_allows, request_window_allows, or the deny reason the audit log would record (request_pending: a request of theirs awaits approval)' }),
    summary: Type.String({ description: 'The decision in one sentence, e.g. "allowed by request R approved by A until T" or "denied: request R pending"' }),
    accessRequest: Type.Optional(
      Type.Object(
        {
          id: Type.String(),
          state: Type.Enum(['active', 'pending']),
          approvedBy: Type.Array(Type.String()),
          until: Type.String({ format: 'date-time', description: 'When the window ends (active) or the request expires (pending)' }),
          breakGlass: Type.Boolean(),
        },
        { additionalProperties: false, description: 'The access request that decided: an approved window, or a pending request' },
      ),
    ),
    rule: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()], { description: 'The mapping that decided' }),
    dbUser: Type.Optional(Type.String()),
    roleArn: Type.Optional(Type.String()),
    considered: Type.Array(
      Type.Object({
        ...Type.Omit(Mapping, ['version', 'createdAt', 'updatedAt']).properties,
        verdict: Type.Enum(['grants', 'reason_required', 'expired', 'not_yet_valid', 'other_levels', 'inactive']),
      }),
      { description: 'Every mapping that names the principal and applies to the database, most specific first' },
    ),
  },
  { $id: 'Explanation', additionalProperties: false },
);

export const MyAccess = Type.Object(
  {
    at: Type.String({ format: 'date-time' }),
    items: Type.Array(
      Type.Object({
        database: Type.String(),
        level: Type.String(),
        mapping: Type.String({ description: 'Name of the mapping that grants it' }),
        requireReason: Type.Boolean({ description: 'Send a reason with the request' }),
        expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
        accessRequest: Type.Optional(Type.String({ description: 'The approved access request whose window grants it' })),
      }),
    ),
  },
  { $id: 'MyAccess', additionalProperties: false },
);
