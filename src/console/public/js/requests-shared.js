// What the two Requests pages share: how a request's state and window read, and the API calls.
import { html } from '../vendor/htm-preact.js';
import { getJson, postJson } from './api.js';
import { Badge, When } from './ui.js';

const KINDS = { pending: 'warn', active: 'ok', ended: 'muted', denied: 'bad', cancelled: 'muted', expired: 'muted', revoked: 'bad' };

export const StateBadge = ({ r }) => html`<${Badge} kind=${KINDS[r.state] ?? 'muted'}>${r.state}<//>${r.breakGlass && html` <${Badge} kind="bad">break-glass<//>`}`;

/** Seconds as a person says them: "90 min", "2 h". */
export const duration = (s) => (s % 3600 === 0 ? `${s / 3600} h` : `${Math.round(s / 60)} min`);

/** The window if one opened; otherwise how long was asked for, and until when a pending one waits. */
export function Window({ r }) {
  if (r.windowStartsAt) return html`<${When} at=${r.windowStartsAt} /> to <${When} at=${r.windowEndsAt} />`;
  if (r.state === 'pending') return html`${duration(r.durationSeconds)} once approved; waits until <${When} at=${r.pendingUntil} />`;
  return `${duration(r.durationSeconds)} asked`;
}

export const approvals = (r) => (r.breakGlass ? 'none needed' : `${r.approvals.length} of ${r.approvalsRequired}${r.approvals.length ? ` (${r.approvals.map((a) => a.subject).join(', ')})` : ''}`);

export const listRequests = async (query) => (await getJson('/v1/access-requests', { limit: 100, ...query })).items;

/** One step on a request (approve, deny, cancel, revoke, review); the API checks who may take it. */
export const step = (r, name, body) => postJson(`/v1/access-requests/${encodeURIComponent(r.id)}/${name}`, body);
