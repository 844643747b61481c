import type { AccessRequest } from '../access-requests/access-request-schema.js';

/** The steps of an access request that webhooks are told about (the rest are only audit rows). */
export const NOTIFIED_STEPS = ['created', 'approved', 'denied', 'expired', 'ended', 'cancelled', 'revoked', 'break_glass', 'reviewed'] as const;
export const NOTIFY_EVENT_TYPES = NOTIFIED_STEPS.map((s) => `access_request.${s}`);

/** What a webhook is told about: one step of an access request, who took it and why. */
export interface NotifyEvent {
  /** One of NOTIFY_EVENT_TYPES. */
  type: string;
  at: string;
  actor: { issuer: string; subject: string } | null;
  reason: string | null;
  request: AccessRequest;
}

/** Break-glass is the one event that must be loud: receivers may page on it. */
export const LOUD_EVENTS = new Set(['access_request.break_glass']);
