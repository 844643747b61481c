import type { OperationExample } from '../http/openapi-examples.js';

// Worked examples of the access-request operations (openapi.yaml): the orders-api team asks for rw
// on orders, DBA alice approves. The linter validates each against its operation's schemas.

const ISSUER = 'https://idp.example.com';
const ID = '0193a6f9-2d4e-7a01-8b3c-5d6e7f8091a2';
const requester = { issuer: ISSUER, subject: 'carol' };
const alice = { issuer: ISSUER, subject: 'dba-alice' };
const pending = {
  id: ID,
  requester,
  database: 'orders',
  access: 'rw',
  reason: 'backfill OPS-123',
  durationSeconds: 3600,
  breakGlass: false,
  policy: 'orders-rw-on-request',
  approvalsRequired: 1,
  state: 'pending',
  version: 1,
  createdAt: '2026-12-01T14:00:00.000Z',
  pendingUntil: '2026-12-02T14:00:00.000Z',
  approvals: [],
};
const active = {
  ...pending,
  state: 'active',
  version: 2,
  approvals: [{ ...alice, at: '2026-12-01T14:03:00.000Z', version: 1, note: 'ticket OPS-123' }],
  windowStartsAt: '2026-12-01T14:03:00.000Z',
  windowEndsAt: '2026-12-01T15:03:00.000Z',
};
const closed = { closedAt: '2026-12-01T14:30:00.000Z', closedBy: alice };

export const ACCESS_REQUEST_EXAMPLES: Record<string, OperationExample> = {
  createAccessRequest: {
    ok: 'Filed; pending until an approver decides (break-glass: active at once). ETag carries its version',
    request: { database: 'orders', access: 'rw', reason: 'backfill OPS-123', durationSeconds: 3600 },
    response: pending,
  },
  listAccessRequests: { ok: 'The requests you may see that match the filters, newest first', response: { items: [active] } },
  listRequestable: {
    ok: 'What a policy lets you request, with its limits',
    response: { items: [{ database: 'orders', access: 'rw', policy: 'orders-rw-on-request', maxDurationSeconds: 14400, approvalsRequired: 1, breakGlassMaxDurationSeconds: 3600 }] },
  },
  getAccessRequest: { ok: 'The request; its version is the one to name when deciding', response: active },
  approveAccessRequest: { ok: 'Approved (the window opens now) or one approval recorded when more are needed', request: { version: 1, note: 'ticket OPS-123' }, response: active },
  denyAccessRequest: { ok: 'Denied', request: { version: 1, reason: 'use ro for a backfill read' }, response: { ...pending, state: 'denied', version: 2, ...closed, closeReason: 'use ro for a backfill read' } },
  cancelAccessRequest: { ok: 'Cancelled (a pending request withdrawn, or an active window handed back)', request: { reason: 'not needed after all' }, response: { ...pending, state: 'cancelled', version: 2, ...closed, closedBy: requester, closeReason: 'not needed after all' } },
  revokeAccessRequest: { ok: 'Revoked: the window ended now', request: { reason: 'done early' }, response: { ...active, state: 'revoked', version: 3, windowEndsAt: closed.closedAt, ...closed, closeReason: 'done early' } },
  reviewAccessRequest: {
    ok: 'The break-glass use is reviewed',
    request: { version: 1, note: 'justified: INC-42' },
    response: { ...pending, breakGlass: true, approvalsRequired: 0, state: 'ended', version: 2, windowStartsAt: '2026-12-01T02:10:00.000Z', windowEndsAt: '2026-12-01T02:25:00.000Z', review: 'reviewed', reviewedAt: '2026-12-01T09:00:00.000Z', reviewedBy: alice, reviewNote: 'justified: INC-42' },
  },
};
