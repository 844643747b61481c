import { Type } from 'typebox';

/**
 * Every error dab returns has one of these codes; each maps to one HTTP status and title.
 * Codes are the stable contract (RFC 9457 `type` is `urn:dab:problem:<code>`); titles may change.
 */
export const PROBLEMS = {
  validation_failed: [400, 'The request is not valid'],
  invalid_json: [400, 'The body is not valid JSON'],
  invalid_request: [400, 'The request is malformed'],
  unauthenticated: [401, 'Authentication required'],
  forbidden: [403, 'This principal may not use this endpoint'],
  access_denied: [403, 'Access denied'],
  reason_required: [403, 'A reason is required for this access'],
  request_not_allowed: [403, 'No request policy lets you request this access'],
  break_glass_not_allowed: [403, 'No request policy allows break-glass for this access'],
  not_an_approver: [403, 'You may not approve or review this request'],
  self_approval: [403, 'Nobody approves or reviews their own request'],
  duration_too_long: [400, 'The duration is over the policy maximum'],
  access_already_held: [409, 'You already hold this access'],
  request_closed: [409, 'The access request is closed'],
  request_changed: [409, 'The access request changed since you read it'],
  not_found: [404, 'Not found'],
  method_not_allowed: [405, 'Method not allowed'],
  request_timeout: [408, 'The request was not received in time'],
  conflict: [409, 'Conflict'],
  precondition_failed: [412, 'The resource changed since you read it'],
  precondition_required: [428, 'If-Match is required'],
  body_too_large: [413, 'The body is too large'],
  uri_too_long: [414, 'The URL is too long'],
  unsupported_media_type: [415, 'Unsupported media type'],
  rate_limited: [429, 'Too many requests'],
  mint_budget_exceeded: [429, 'The database endpoint is at its budget of new logins'],
  headers_too_large: [431, 'The request headers are too large'],
  internal: [500, 'Internal error'],
  sts_access_denied: [502, 'The database account refused to let dab assume its role'],
  sts_error: [502, 'STS returned an unexpected answer'],
  sts_unavailable: [503, 'STS is unavailable'],
  idp_unavailable: [503, 'The identity provider keys cannot be fetched'],
  audit_unavailable: [503, 'The audit log cannot be written'],
  store_unavailable: [503, 'The store is unavailable'],
  not_ready: [503, 'Not ready'],
} as const satisfies Record<string, readonly [number, string]>;

export type ProblemCode = keyof typeof PROBLEMS;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The one error type of the service. `detail` is shown to the caller: never put secrets in it. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extra: { retryAfterSeconds?: number; wwwAuthenticate?: string; errors?: ProblemFieldError[] } = {},
  ) {
    super(detail ?? PROBLEMS[code][1]);
  }
  get status(): number {
    return PROBLEMS[this.code][0];
  }
}

export interface ProblemFieldError {
  field: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  instance?: string;
  requestId: string;
  errors?: ProblemFieldError[];
}

export function problemBody(err: AppError, requestId: string, instance?: string): ProblemBody {
  const [status, title] = PROBLEMS[err.code];
  return {
    type: `urn:dab:problem:${err.code}`,
    title,
    status,
    code: err.code,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(instance ? { instance } : {}),
    requestId,
    ...(err.extra.errors ? { errors: err.extra.errors } : {}),
  };
}

/** Response schema shared by every route's error statuses. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.Enum(Object.keys(PROBLEMS) as ProblemCode[]),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
