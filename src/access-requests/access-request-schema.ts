import { Type, type Static } from 'typebox';
import { AccessLevelSchema, SLUG } from '../databases/database-schema.js';
import { MAX_WINDOW_SECONDS } from './request-policy-schema.js';

/** The longest reason a request, approval, denial, revoke or review may carry (it is audited). */
export const MAX_REASON_LENGTH = 500;
const Reason = (description: string) => Type.String({ minLength: 1, maxLength: MAX_REASON_LENGTH, description });
// Versions are PostgreSQL integers: a larger number can never match, and would fail in the store.
const Version = Type.Integer({ minimum: 1, maximum: 2147483647, description: 'The request version you read (its ETag): a request changed since is refused with 409 request_changed' });

export const CreateAccessRequest = Type.Object(
  {
    database: Type.String({ pattern: SLUG }),
    access: AccessLevelSchema,
    reason: Reason('Why you need it (audited, shown to approvers)'),
    durationSeconds: Type.Integer({ minimum: 60, maximum: MAX_WINDOW_SECONDS, description: "How long the window should last once approved (at most the policy's maximum)" }),
    breakGlass: Type.Optional(Type.Boolean({ description: 'Take the level at once without approval, where policy allows it; reviewed after the fact' })),
  },
  { additionalProperties: false },
);
export type CreateAccessRequest = Static<typeof CreateAccessRequest>;

export const ApproveBody = Type.Object({ version: Version, note: Type.Optional(Reason('Why you approve (audited)')) }, { additionalProperties: false });
export const DenyBody = Type.Object({ version: Version, reason: Reason('Why you deny (audited, shown to the requester)') }, { additionalProperties: false });
export const CancelBody = Type.Object({ version: Type.Optional(Version), reason: Type.Optional(Reason('Why (audited)')) }, { additionalProperties: false });
export const RevokeBody = Type.Object({ reason: Reason('Why the window ends now (audited)') }, { additionalProperties: false });
export const ReviewBody = Type.Object({ version: Version, note: Reason('What the review found (audited)') }, { additionalProperties: false });
export type ApproveBody = Static<typeof ApproveBody>;
export type DenyBody = Static<typeof DenyBody>;
export type CancelBody = Static<typeof CancelBody>;
export type RevokeBody = Static<typeof RevokeBody>;
export type ReviewBody = Static<typeof ReviewBody>;

export const RequestRef = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** Stored states, and the ones the clock derives: pending → expired, approved → active → ended. */
export const STATES = ['pending', 'active', 'ended', 'denied', 'cancelled', 'expired', 'revoked'] as const;
export type RequestState = (typeof STATES)[number];

export const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Enum([...STATES])),
    breakGlass: Type.Optional(Type.Enum(['true', 'false'], { description: 'Only break-glass uses (true) or only ordinary requests (false)' })),
    review: Type.Optional(Type.Enum(['unreviewed', 'reviewed'], { description: 'Break-glass uses by review status (auditors: unreviewed)' })),
    mine: Type.Optional(Type.Enum(['true', 'false'], { description: 'Only requests you made' })),
    approvable: Type.Optional(Type.Enum(['true', 'false'], { description: 'Only requests you may decide as an approver of their policy (never your own): with state=pending, what awaits you' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

const Who = Type.Object({ issuer: Type.String(), subject: Type.String() }, { additionalProperties: false });
export type Who = Static<typeof Who>;
const Approval = Type.Object({ issuer: Type.String(), subject: Type.String(), at: Type.String({ format: 'date-time' }), version: Type.Integer(), note: Type.Optional(Type.String()) }, { additionalProperties: false });
export type Approval = Static<typeof Approval>;

export const AccessRequest = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    requester: Who,
    database: Type.String(),
    access: Type.String(),
    reason: Type.String(),
    durationSeconds: Type.Integer(),
    breakGlass: Type.Boolean(),
    policy: Type.String({ description: 'The request policy that applied' }),
    approvalsRequired: Type.Integer({ description: '0 for break-glass' }),
    state: Type.Enum([...STATES], { description: 'pending, active (approved, window open), ended (window over), denied, cancelled, expired (unanswered in time) or revoked' }),
    version: Type.Integer({ description: 'Name it when approving, denying or reviewing' }),
    createdAt: Type.String({ format: 'date-time' }),
    pendingUntil: Type.String({ format: 'date-time', description: 'An unanswered request expires then' }),
    approvals: Type.Array(Approval),
    windowStartsAt: Type.Optional(Type.String({ format: 'date-time' })),
    windowEndsAt: Type.Optional(Type.String({ format: 'date-time' })),
    closedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it was denied, cancelled, revoked or marked expired' })),
    closedBy: Type.Optional(Who),
    closeReason: Type.Optional(Type.String()),
    review: Type.Optional(Type.Enum(['unreviewed', 'reviewed'], { description: 'Break-glass only' })),
    reviewedAt: Type.Optional(Type.String({ format: 'date-time' })),
    reviewedBy: Type.Optional(Who),
    reviewNote: Type.Optional(Type.String()),
  },
  { $id: 'AccessRequest', additionalProperties: false },
);
export type AccessRequest = Static<typeof AccessRequest>;

export const AccessRequestList = Type.Object({ items: Type.Array(AccessRequest) }, { $id: 'AccessRequestList', additionalProperties: false });

/** One level the caller may request on one database, and what its policy allows. */
const Requestable = Type.Object(
  {
    database: Type.String(),
    access: Type.String(),
    policy: Type.String({ description: 'The request policy that would apply' }),
    maxDurationSeconds: Type.Integer(),
    approvalsRequired: Type.Integer(),
    breakGlassMaxDurationSeconds: Type.Optional(Type.Integer({ description: 'Present when the policy allows break-glass' })),
  },
  { additionalProperties: false },
);
export type Requestable = Static<typeof Requestable>;
export const RequestableList = Type.Object({ items: Type.Array(Requestable) }, { $id: 'RequestableList', additionalProperties: false });

/** What the access model keeps of an open request: enough to decide and to explain. */
export interface OpenRequest {
  id: string;
  issuer: string;
  subject: string;
  database: string;
  level: string;
  /** pending, or approved (its window may have ended: decisions check the clock). */
  state: 'pending' | 'approved';
  pendingUntil: number;
  windowStartsAt?: number;
  windowEndsAt?: number;
  approvedBy: string[];
  breakGlass: boolean;
}
