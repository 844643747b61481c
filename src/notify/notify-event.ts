import type { AccessRequest } from '../access-requests/access-request-schema.js';

/** What a webhook is told about: one step of an access request, who took it and why. */
export interface NotifyEvent {
  /** access_request.created | approved | denied | expired | cancelled | revoked | break_glass | reviewed */
  type: string;
  at: string;
  actor: { issuer: string; subject: string } | null;
  reason: string | null;
  request: AccessRequest;
}

/** Break-glass is the one event that must be loud: receivers may page on it. */
export const LOUD_EVENTS = new Set(['access_request.break_glass']);
