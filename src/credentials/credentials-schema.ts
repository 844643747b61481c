import { Type, type Static } from 'typebox';
import { AccessLevelSchema, SLUG } from '../databases/database-schema.js';
import { ENGINE_GRANT_FIELDS } from '../engines/registration.js';

export const CredentialsRequest = Type.Object(
  {
    database: Type.String({ pattern: SLUG, description: 'Registered database name' }),
    access: AccessLevelSchema,
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Why you need access; recorded in the audit log' })),
  },
  { additionalProperties: false },
);
export type CredentialsRequest = Static<typeof CredentialsRequest>;

export const Grant = Type.Object(
  {
    grantId: Type.String({ format: 'uuid', description: 'Audit event id of this grant' }),
    engine: Type.String({ description: "The database's engine: which of the fields marked \"Engine:\" come with the grant" }),
    token: Type.String({ description: 'IAM auth token: the password for user. Valid for connecting until expiresAt' }),
    user: Type.String({ description: 'DB user to log in as' }),
    host: Type.String(),
    port: Type.Integer(),
    region: Type.String(),
    expiresAt: Type.String({ format: 'date-time', description: 'min(signing second (the token\'s X-Amz-Date) + 900 s, STS session expiry); may be a second early, never late' }),
    ...ENGINE_GRANT_FIELDS,
  },
  { $id: 'Grant', additionalProperties: false },
);
/** A grant: the common fields, plus its engine's (Engine.grant). */
export type Grant = Static<typeof Grant> & Record<string, unknown>;
