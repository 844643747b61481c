import t from 'tap';
import { startHarness, AUDITOR_SUBJECT } from '../support/harness.js';
import { applyPolicies, as, ordersPolicy } from './support.js';

// The two reads the console's Requests pages are built on, against the real store: what a caller
// may request (the form's choices) and which requests the caller may decide (?approvable=true).
// Both are decided server-side from the request policies as they are now.

const h = await startHarness(t);
await h.registerOrders();
await h.registerOrders({ name: 'payments', dbname: 'payments' });
const ISS = h.issuer.issuer;
const APPS = ['apps'];
t.equal((await applyPolicies(h, [ordersPolicy(ISS)])).statusCode, 200);

const ids = (res: { json(): { items: Array<{ id: string }> } }) => res.json().items.map((r) => r.id);

t.test('requestable: the levels a policy lets you ask for, with its limits; nothing else', async (t) => {
  const res = await as(h, 'app-1', APPS, 'GET', '/v1/access-requests/requestable');
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().items, [{ database: 'orders', access: 'rw', policy: 'orders-jit', maxDurationSeconds: 3600, approvalsRequired: 1, breakGlassMaxDurationSeconds: 900 }], 'payments has no policy: not listed');
  t.same((await as(h, 'outsider', [], 'GET', '/v1/access-requests/requestable')).json().items, [], 'a caller no policy names sees no database');
  t.same((await as(h, AUDITOR_SUBJECT, [], 'GET', '/v1/access-requests/requestable')).json().items, [], 'seeing every request is not being allowed to file one');
  const anonymous = await h.app.inject({ method: 'GET', url: '/v1/access-requests/requestable' });
  t.equal(anonymous.statusCode, 401);
});

t.test('approvable: what you may decide, never your own, whatever else you may see', async (t) => {
  const created = await as(h, 'app-1', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'backfill', durationSeconds: 600 });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  const pending = '/v1/access-requests?approvable=true&state=pending';
  t.same(ids(await as(h, 'ops-carol', ['oncall'], 'GET', pending)), [id], 'an approver by group');
  t.same(ids(await as(h, 'dba-alice', [], 'GET', pending)), [id], 'an approver by subject');
  t.same(ids(await as(h, 'app-1', APPS, 'GET', pending)), [], 'the requester: their own request is not theirs to decide');
  t.same(ids(await as(h, 'app-1', APPS, 'GET', '/v1/access-requests?mine=true')), [id], 'but it is among theirs');
  t.same(ids(await as(h, 'app-2', APPS, 'GET', pending)), [], 'another requester of the policy is no approver');
  t.same(ids(await as(h, AUDITOR_SUBJECT, [], 'GET', pending)), [], 'an auditor sees every request but decides none');
  t.same(ids(await as(h, AUDITOR_SUBJECT, [], 'GET', '/v1/access-requests?state=pending')), [id]);

  const approved = await as(h, 'ops-carol', ['oncall'], 'POST', `/v1/access-requests/${id}/approve`, { version: 1 });
  t.equal(approved.json().state, 'active', approved.body);
  t.same(ids(await as(h, 'dba-alice', [], 'GET', pending)), [], 'decided: no longer awaiting anyone');
  t.same(ids(await as(h, 'dba-alice', [], 'GET', '/v1/access-requests?approvable=true&state=active')), [id], 'an active window its approvers may revoke');

  // The policy as it is now decides: an approver taken off it stops seeing the request as theirs.
  t.equal((await applyPolicies(h, [ordersPolicy(ISS, { approvers: [{ issuer: ISS, subject: 'dba-alice' }] })])).statusCode, 200);
  t.same(ids(await as(h, 'ops-carol', ['oncall'], 'GET', '/v1/access-requests?approvable=true')), []);
  t.same(ids(await as(h, 'dba-alice', [], 'GET', '/v1/access-requests?approvable=true')), [id]);
});

t.test('approvable is validated like every filter', async (t) => {
  const res = await as(h, 'dba-alice', [], 'GET', '/v1/access-requests?approvable=yes');
  t.equal(res.statusCode, 400);
  t.equal(res.json().code, 'validation_failed');
});
