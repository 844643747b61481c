import { Type, type Static } from 'typebox';
import { AccessLevelSchema, Labels, SLUG } from '../databases/database-schema.js';
import { MAPPING_NAME, PrincipalSchema } from '../mappings/mapping-schema.js';

// DBA policy for just-in-time access: who may request which levels on which databases, who
// approves, how many approvals it takes, the longest window, and whether break-glass is allowed.
// It lives in the access document next to mappings, so apply, dry-run and export cover it.

/** A window may never be longer than this, whatever a policy says: standing access is what mappings are for. */
export const MAX_WINDOW_SECONDS = 7 * 24 * 3600;
/** Break-glass is for emergencies: its windows are short by construction. */
export const MAX_BREAK_GLASS_SECONDS = 4 * 3600;
export const DEFAULT_PENDING_SECONDS = 24 * 3600;

export const RequestPolicyDeclaration = Type.Object(
  {
    name: Type.String({ pattern: MAPPING_NAME, description: 'Stable name: what apply matches on' }),
    requesters: Type.Array(PrincipalSchema, { minItems: 1, maxItems: 100, description: 'Who may request (subject, group, claim, AWS principal or account)' }),
    database: Type.Optional(Type.String({ pattern: SLUG, description: 'One database by name (or give selector)' })),
    selector: Type.Optional(Labels('Every database whose labels include all of these (or give database)', 1)),
    levels: Type.Array(AccessLevelSchema, { minItems: 1, maxItems: 3, uniqueItems: true }),
    approvers: Type.Array(PrincipalSchema, { minItems: 1, maxItems: 100, description: 'Who may approve, deny, revoke and review (never their own request)' }),
    approvalsRequired: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, default: 1, description: 'Distinct approvers needed (default 1)' })),
    maxDurationSeconds: Type.Integer({ minimum: 60, maximum: MAX_WINDOW_SECONDS, description: 'Longest window a request may ask for' }),
    pendingTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_WINDOW_SECONDS, description: `An unanswered request expires after this long (default ${DEFAULT_PENDING_SECONDS})` })),
    breakGlass: Type.Optional(
      Type.Object(
        { maxDurationSeconds: Type.Integer({ minimum: 60, maximum: MAX_BREAK_GLASS_SECONDS, description: 'Longest break-glass window' }) },
        { additionalProperties: false, description: 'Present: requesters may take the level at once, reason mandatory, reviewed after the fact' },
      ),
    ),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { $id: 'RequestPolicy', additionalProperties: false },
);
export type RequestPolicy = Static<typeof RequestPolicyDeclaration>;
