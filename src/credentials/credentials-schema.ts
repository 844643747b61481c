import { Type, type Static } from 'typebox';
import { AccessLevelSchema, SLUG } from '../databases/database-schema.js';

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
    token: Type.String({ description: 'RDS IAM auth token: the password for user. Valid for connecting until expiresAt' }),
    user: Type.String({ description: 'DB user to log in as' }),
    host: Type.String(),
    port: Type.Integer(),
    dbname: Type.String(),
    region: Type.String(),
    expiresAt: Type.String({ format: 'date-time', description: 'min(signing second (the token\'s X-Amz-Date) + 900 s, STS session expiry); may be a second early, never late' }),
    sslmode: Type.Enum(['require', 'verify-ca', 'verify-full'], { description: 'RDS requires TLS for IAM logins' }),
  },
  { $id: 'Grant', additionalProperties: false },
);
export type Grant = Static<typeof Grant>;
