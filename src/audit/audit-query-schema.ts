import { Type, type Static } from 'typebox';
import { AccessLevelSchema } from '../databases/database-schema.js';

// Shapes of the auditor API. Filters are plain lookups: a value that matches nothing is an empty
// page, not an error, so they are only bounded, except where a format carries meaning.

export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 100;

// PostgreSQL text cannot hold NUL: refused here as a 400 rather than failing in the store as a 500.
const Text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000]*$', description });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Instant = (description: string) => Type.String({ format: 'date-time', description });

export const OUTCOMES = ['issued', 'denied', 'failed', 'succeeded'] as const;

/** The filters shared by the event list and the export (the cursor's filter hash covers exactly these). */
export const EventFilterProperties = {
  from: Type.Optional(Instant('Events at or after this instant (RFC 3339 with offset)')),
  to: Type.Optional(Instant('Events before this instant (exclusive)')),
  eventType: Type.Optional(Text(64, 'e.g. credential.issued, credential.denied, mapping.updated')),
  outcome: Type.Optional(Type.Enum([...OUTCOMES])),
  issuer: Type.Optional(Text(512, "Caller's token issuer")),
  subject: Type.Optional(Text(512, "Caller's subject")),
  group: Type.Optional(Text(256, "Events whose caller's groups include this group")),
  database: Type.Optional(Text(128, 'Registered database name')),
  level: Type.Optional(AccessLevelSchema),
  dbUser: Type.Optional(Text(128, 'DB user the grant was for')),
  grantId: Type.Optional(Type.String({ format: 'uuid', description: 'Event id (a grant id is the event id of its credential.issued event)' })),
  requestId: Type.Optional(Text(128, "dab's request id (the x-request-id of its response) of the request that wrote the event")),
  traceId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$', description: "W3C trace id (32 lowercase hex) of the caller's traceparent: the events of one trace" })),
};
const FilterSchema = Type.Object(EventFilterProperties);
export type EventFilter = Static<typeof FilterSchema>;
export const FILTER_KEYS = Object.keys(EventFilterProperties) as (keyof EventFilter)[];

const Order = Type.Enum(['desc', 'asc'], { description: 'desc (default): newest first; asc: oldest first' });
export type Order = 'desc' | 'asc';

export const EventsQuery = Type.Object(
  {
    ...EventFilterProperties,
    order: Type.Optional(Order),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT, description: `Page size, 1–${MAX_PAGE_LIMIT}; more is a 400, not silently capped` })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'nextCursor of the previous page, with the same filters and order' })),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuery>;

export const ExportQuery = Type.Object(
  {
    ...EventFilterProperties,
    format: Type.Optional(Type.Enum(['ndjson', 'csv'], { default: 'ndjson' })),
    order: Type.Optional(Type.Enum(['asc', 'desc'], { description: 'asc (default for exports): oldest first, like a log file' })),
  },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;

export const AuditEvent = Type.Object(
  {
    id: Type.String({ description: 'Position in the log (a bigint, as a string)' }),
    eventId: Type.String({ format: 'uuid' }),
    occurredAt: Type.String({ format: 'date-time' }),
    eventType: Type.String(),
    outcome: Type.Enum([...OUTCOMES]),
    reason: Type.String({ description: 'Reason code, e.g. mapping_allows, no_mapping, auditor_cannot_mint' }),
    rule: Nullable(Type.String({ description: 'The rule that decided: a mapping id for grants and denials' })),
    requestId: Nullable(Type.String()),
    actor: Nullable(Type.Object({ issuer: Type.String(), subject: Type.String(), groups: Type.Array(Type.String()) }, { additionalProperties: false })),
    sourceIp: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    database: Nullable(Type.String()),
    level: Nullable(Type.String()),
    engine: Nullable(Type.String({ description: "The database's engine (postgres, mysql, …); null on rows from before engines and rows not about a database" })),
    dbUser: Nullable(Type.String()),
    roleArn: Nullable(Type.String()),
    sessionName: Nullable(Type.String({ description: 'STS RoleSessionName: joins CloudTrail' })),
    sourceIdentity: Nullable(Type.String()),
    accessKeyId: Nullable(Type.String({ description: 'STS session access key id that signed the token' })),
    tokenFingerprint: Nullable(Type.String({ description: 'HMAC of the token; the token itself is never stored' })),
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
    callerReason: Nullable(Type.String()),
    details: Type.Unknown({ description: 'Event-specific JSON, e.g. before/after of an admin change' }),
    // An AWS IAM caller as STS identified it; null for JWT callers.
    awsCaller: Nullable(
      Type.Object(
        {
          arn: Type.String({ description: 'The ARN STS stated for the caller (an assumed-role or IAM user ARN); actor.subject is its role' }),
          account: Type.String(),
          sessionName: Nullable(Type.String({ description: 'The role session name, e.g. an EC2 instance id' })),
        },
        { additionalProperties: false },
      ),
    ),
    // The caller's trace context (src/http/trace-context.ts); null when it sent none (or an invalid one).
    traceId: Nullable(Type.String({ description: "W3C trace id from the caller's traceparent" })),
    parentSpanId: Nullable(Type.String({ description: "The caller's span (traceparent parent-id) that made the request" })),
    clientRequestId: Nullable(Type.String({ description: "The caller's own x-request-id; requestId is dab's" })),
    accessRequestId: Type.Optional(Nullable(Type.String({ description: 'The access request a grant was made under, or a request step is about; null otherwise' }))),
  },
  { $id: 'AuditEvent', additionalProperties: false },
);
export type AuditEventJson = Static<typeof AuditEvent>;

export const EventsPage = Type.Object(
  {
    items: Type.Array(AuditEvent),
    nextCursor: Type.Optional(Type.String({ description: 'Present when more events matched when this page was read' })),
  },
  { additionalProperties: false },
);

export const HoldersQuery = Type.Object(
  {
    database: Text(128, 'Registered database name'),
    dbUser: Text(128, 'DB user'),
    at: Instant('The instant in question'),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: MAX_PAGE_LIMIT })),
  },
  { additionalProperties: false },
);
export type HoldersQuery = Static<typeof HoldersQuery>;

const MappingSnapshot = Type.Object(
  {
    id: Type.String({ description: 'Mapping id (the grant event\'s rule)' }),
    recorded: Type.Unknown({ description: 'The mapping as recorded by its latest mapping.created/updated event at or before the grant; null if no such event is in the log' }),
    recordedAt: Nullable(Type.String({ format: 'date-time' })),
    recordedBy: Nullable(Type.String({ format: 'uuid', description: 'Event id of that mapping.created/updated event' })),
    current: Type.Unknown({ description: 'The mapping as it is now; null when it has since been deleted' }),
  },
  { additionalProperties: false },
);

export const Holder = Type.Object(
  {
    grant: AuditEvent,
    mapping: Nullable(MappingSnapshot),
    accessRequest: Type.Optional(
      Type.Object(
        {
          id: Type.String({ description: 'The access request whose approved window the grant was made under' }),
          chain: Type.Array(Type.Object(AuditEvent.properties, { additionalProperties: false }), { description: 'Its steps on the record, oldest first: created, approvals, break-glass, review, revoke' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'Holder', additionalProperties: false },
);

export const HoldersPage = Type.Object(
  {
    database: Type.String(),
    dbUser: Type.String(),
    at: Type.String({ format: 'date-time' }),
    items: Type.Array(Holder),
    truncated: Type.Boolean({ description: 'More grants matched than limit' }),
  },
  { additionalProperties: false },
);

export const LookupRequest = Type.Union(
  [
    Type.Object({ token: Type.String({ minLength: 1, maxLength: 16384, description: 'An RDS auth token as found (raw or URL-encoded)' }) }, { additionalProperties: false }),
    Type.Object({ accessKeyId: Type.String({ pattern: '^[A-Z0-9]{16,128}$', description: 'STS access key id, e.g. from CloudTrail' }) }, { additionalProperties: false }),
  ],
  { description: 'Exactly one of token or accessKeyId. In the body, never the URL, so tokens stay out of access logs.' },
);
export type LookupRequest = Static<typeof LookupRequest>;

/** Lookup takes nothing in the URL: a token there would land in access logs, so it is refused. */
export const NoQuery = Type.Object({}, { additionalProperties: false });

export const LookupResult = Type.Object(
  {
    items: Type.Array(AuditEvent),
    truncated: Type.Boolean({ description: `More than ${MAX_PAGE_LIMIT} events matched (an access key id signs many grants)` }),
  },
  { additionalProperties: false },
);
