import { createHmac, timingSafeEqual } from 'node:crypto';
import { LOUD_EVENTS, type NotifyEvent } from './notify-event.js';

export const SIGNATURE_HEADER = 'x-dab-signature';

/**
 * x-dab-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>. The timestamp is
 * inside the MAC so a receiver can refuse replays older than it cares to accept.
 */
export function signatureHeader(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Checks a signature header the way a receiver should (constant time). */
export function verifySignature(secret: string, body: string, header: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2] as string, 'hex'));
}

/** dab's own JSON: the event as it is, with a version so receivers can evolve. */
export function jsonPayload(e: NotifyEvent): Record<string, unknown> {
  return { version: 1, loud: LOUD_EVENTS.has(e.type), ...e };
}

const VERBS: Record<string, string> = {
  'access_request.created': 'requested',
  'access_request.approved': 'was approved for',
  'access_request.approval_recorded': 'got one approval for',
  'access_request.denied': 'was denied',
  'access_request.expired': 'timed out waiting for',
  'access_request.ended': 'no longer holds',
  'access_request.cancelled': 'cancelled the request for',
  'access_request.revoked': 'had revoked',
  'access_request.break_glass': 'BROKE GLASS for',
  'access_request.reviewed': 'had reviewed the break-glass use of',
};

/** A Slack incoming-webhook body: one line of text (mrkdwn), loud events with @here. */
export function slackPayload(e: NotifyEvent): Record<string, unknown> {
  const r = e.request;
  const who = `${r.requester.subject}`;
  const what = `\`${r.access}\` on \`${r.database}\``;
  const by = e.actor && e.actor.subject !== r.requester.subject ? ` by ${e.actor.subject}` : '';
  const until = r.windowEndsAt && (e.type === 'access_request.approved' || e.type === 'access_request.break_glass') ? ` until ${r.windowEndsAt}` : '';
  const why = e.reason ? ` — “${e.reason}”` : '';
  const loud = LOUD_EVENTS.has(e.type) ? ':rotating_light: <!here> ' : '';
  return { text: `${loud}${who} ${VERBS[e.type] ?? e.type} ${what}${by}${until}${why} (request ${r.id})` };
}
