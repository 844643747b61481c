import t from 'tap';
import { startHarness, AUDITOR_SUBJECT } from '../support/harness.js';
import { applyPolicies, as, ordersPolicy } from './support.js';

// Every state transition of a request, through the API against the real store (embedded, or the
// server DATABASE_URL names): pending → approved (active) → ended / revoked / cancelled; pending →
// denied / cancelled / expired; break-glass → unreviewed → reviewed.

const h = await startHarness(t, {
  config: (c) => {
    c.accessRequests = { create: { burst: 4, perSecond: 0.001 } };
    c.notify = { pollIntervalMs: 50 };
  },
});
await h.registerOrders();
const ISS = h.issuer.issuer;
const APPS = ['apps'];

t.test('policy goes through apply, dry-run and export', async (t) => {
  const dry = await applyPolicies(h, [ordersPolicy(ISS)], true);
  t.equal(dry.statusCode, 200, dry.body);
  t.same(dry.json().changes, [{ kind: 'requestPolicy', name: 'orders-jit', action: 'create' }]);
  t.same((await h.store.query('SELECT name FROM request_policies')).rows, [], 'dry-run wrote nothing');
  const res = await applyPolicies(h, [ordersPolicy(ISS)]);
  t.equal(res.statusCode, 200, res.body);
  t.equal((await applyPolicies(h, [ordersPolicy(ISS)])).json().unchanged, 1, 'applying the same again changes nothing');
  const exported = await h.app.inject({ method: 'GET', url: '/v1/admin/export', headers: { authorization: `Bearer ${await h.adminToken()}` } });
  t.same(exported.json().requestPolicies?.[0]?.name, 'orders-jit');
  const bad = await applyPolicies(h, [ordersPolicy(ISS, { name: 'nowhere', database: 'nope' })]);
  t.equal(bad.statusCode, 400);
  t.match(bad.json().errors, [{ field: 'body.document.requestPolicies.0.database' }]);
  t.ok((await h.auditRows(`event_type = 'request_policy.created'`)).length === 1, 'the policy change is audited');
});

t.test('an idle sweep (every poll) does not bump access_model_version', async (t) => {
  const before = await version();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await version(), before, 'no reloads on every replica every second');
});

async function version() {
  return Number((await h.store.query<{ v: string }>('SELECT version::text AS v FROM access_model_version')).rows[0]?.v);
}
const grantRw = async (subject: string) => h.grant(await h.token(subject, APPS), { database: 'orders', access: 'rw' });

t.test('pending → approved → active → ended, with the audit chain and explain', async (t) => {
  const created = await as(h, 'app-1', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'migrate orders table', durationSeconds: 1800 });
  t.equal(created.statusCode, 201, created.body);
  const req = created.json();
  t.equal(req.state, 'pending');
  t.equal(req.version, 1);
  t.equal(created.headers.etag, '"1"');

  const denied = await grantRw('app-1');
  t.equal(denied.statusCode, 403, 'no window yet');
  t.equal(denied.json().detail, `your access request ${req.id} is pending approval`, 'the requester is told why');
  const [denial] = await h.auditRows(`event_type = 'credential.denied' AND actor_subject = 'app-1'`);
  t.equal(denial?.reason, 'request_pending');
  const explain = await h.app.inject({ method: 'POST', url: '/v1/access/explain', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { principal: { issuer: ISS, subject: 'app-1', groups: APPS }, database: 'orders', access: 'rw' } });
  t.match(explain.json(), { allowed: false, reason: 'request_pending', summary: new RegExp(`^denied: request ${req.id} pending`) });

  const self = await as(h, 'app-1', APPS, 'POST', `/v1/access-requests/${req.id}/approve`, { version: 1 });
  t.equal(self.statusCode, 403);
  t.equal(self.json().code, 'self_approval');
  const stranger = await as(h, 'app-2', APPS, 'POST', `/v1/access-requests/${req.id}/approve`, { version: 1 });
  t.equal(stranger.json().code, 'not_an_approver');
  const stale = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 7 });
  t.equal(stale.statusCode, 409);
  t.equal(stale.json().code, 'request_changed');
  const refusals = await h.auditRows(`event_type = 'access_request.approve_refused' AND access_request_id = $1`, [req.id]);
  t.same(refusals.map((r) => r.reason), ['self_approval', 'not_an_approver', 'request_changed'], 'each refused approval is on the record');

  const before = await version();
  const approved = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 1, note: 'ticket OPS-1' });
  t.equal(approved.statusCode, 200, approved.body);
  t.match(approved.json(), { state: 'active', version: 2, approvals: [{ subject: 'dba-alice' }] });
  t.ok((await version()) > before, 'approval bumps access_model_version (other replicas reload)');

  const granted = await grantRw('app-1');
  t.equal(granted.statusCode, 200, granted.body);
  t.equal(granted.json().user, 'orders_rw');
  const [issued] = await h.auditRows(`event_type = 'credential.issued' AND actor_subject = 'app-1'`);
  t.equal(issued?.access_request_id, req.id, 'the grant row names the request');
  t.equal(issued?.reason, 'request_window_allows');
  t.equal((await grantRw('app-2')).statusCode, 403, 'the window is for the requester only');

  const explained = await h.app.inject({ method: 'POST', url: '/v1/access/explain', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { principal: { issuer: ISS, subject: 'app-1', groups: APPS }, database: 'orders', access: 'rw' } });
  t.match(explained.json(), { allowed: true, reason: 'request_window_allows', summary: new RegExp(`^allowed by request ${req.id} approved by dba-alice until `) });
  const mine = await as(h, 'app-1', APPS, 'GET', '/v1/access/mine');
  t.match(mine.json().items, [{ database: 'orders', level: 'rw', accessRequest: req.id }]);

  const holders = await h.app.inject({ method: 'GET', url: `/v1/audit/holders?database=orders&dbUser=orders_rw&at=${encodeURIComponent(h.clock.now().toISOString())}`, headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
  t.equal(holders.statusCode, 200);
  const holder = holders.json().items.find((i: { grant: { accessRequestId?: string } }) => i.grant.accessRequestId === req.id);
  const chain = holder?.accessRequest.chain as Array<{ eventType: string; outcome: string; actor: { subject: string } }>;
  t.same(chain.map((e) => e.eventType), ['access_request.created', 'access_request.approve_refused', 'access_request.approve_refused', 'access_request.approve_refused', 'access_request.approved'], 'who held it shows the approval chain, refused attempts included');
  t.same(chain.filter((e) => e.outcome === 'succeeded').map((e) => e.actor.subject), ['app-1', 'dba-alice'], 'requested by app-1, approved by dba-alice');

  const again = await as(h, 'app-1', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'again', durationSeconds: 600 });
  t.equal(again.statusCode, 409);
  t.equal(again.json().code, 'access_already_held');
  const twice = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 2 });
  t.equal(twice.json().code, 'request_closed');

  h.clock.offsetMs = 1801_000;
  try {
    t.equal((await grantRw('app-1')).statusCode, 403, 'the window ended on time, no job involved');
    t.equal((await as(h, 'app-1', APPS, 'GET', `/v1/access-requests/${req.id}`)).json().state, 'ended');
    // The sweep then puts the end on the record, once, without changing the request.
    const ended = () => h.auditRows(`event_type = 'access_request.ended' AND access_request_id = $1`, [req.id]);
    for (let i = 0; i < 100 && (await ended()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200)); // a few more polls: still one row
    const rows = await ended();
    t.equal(rows.length, 1, 'one access_request.ended row');
    t.match(rows[0], { actor_subject: null, outcome: 'succeeded', database_name: 'orders', access_level: 'rw' });
    t.equal(new Date(rows[0]!.expires_at as string).toISOString(), approved.json().windowEndsAt, 'it names the window\'s end');
    t.equal((await as(h, 'app-1', APPS, 'GET', `/v1/access-requests/${req.id}`)).json().version, approved.json().version, 'the request is unchanged');
  } finally {
    h.clock.offsetMs = 0;
  }
});

t.test('active → revoked takes effect at once', async (t) => {
  const req = (await as(h, 'app-2', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'hotfix', durationSeconds: 600 })).json();
  await as(h, 'ops-carol', ['oncall'], 'POST', `/v1/access-requests/${req.id}/approve`, { version: req.version });
  t.equal((await grantRw('app-2')).statusCode, 200, 'a group approver approved');
  const revoked = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/revoke`, { reason: 'done early' });
  t.equal(revoked.statusCode, 200);
  t.equal(revoked.json().state, 'revoked');
  t.equal((await grantRw('app-2')).statusCode, 403, 'no grant after revoke, on this replica at once');
  t.equal((await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/revoke`, { reason: 'twice' })).json().code, 'request_closed');
});

t.test('pending → denied, pending → cancelled, active → cancelled', async (t) => {
  const a = (await as(h, 'app-3', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'r', durationSeconds: 600 })).json();
  const denied = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${a.id}/deny`, { version: a.version, reason: 'use ro' });
  t.match(denied.json(), { state: 'denied', closeReason: 'use ro', closedBy: { subject: 'dba-alice' } });
  const b = (await as(h, 'app-3', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'r2', durationSeconds: 600 })).json();
  t.equal((await as(h, 'app-4', APPS, 'POST', `/v1/access-requests/${b.id}/cancel`, {})).statusCode, 403, 'only the requester cancels');
  t.equal((await as(h, 'app-3', APPS, 'POST', `/v1/access-requests/${b.id}/cancel`, { reason: 'not needed' })).json().state, 'cancelled');
  const c = (await as(h, 'app-4', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'r3', durationSeconds: 600 })).json();
  await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${c.id}/approve`, { version: 1 });
  t.equal((await as(h, 'app-4', APPS, 'POST', `/v1/access-requests/${c.id}/cancel`, {})).json().state, 'cancelled', 'an active window can be handed back');
  t.equal((await grantRw('app-4')).statusCode, 403);
  const types = (await h.auditRows(`access_request_id = ANY($1::text[]) AND event_type LIKE 'access_request.%'`, [[a.id, b.id, c.id]])).map((r) => r.event_type);
  t.ok(types.includes('access_request.denied') && types.includes('access_request.cancelled'));
});

t.test('pending → expired by the clock, then recorded by the sweep', async (t) => {
  const req = (await as(h, 'app-5', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'later', durationSeconds: 600 })).json();
  h.clock.offsetMs = 601_000;
  try {
    t.equal((await as(h, 'app-5', APPS, 'GET', `/v1/access-requests/${req.id}`)).json().state, 'expired', 'expired by the clock alone');
    const late = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 1 });
    t.equal(late.json().code, 'request_closed', 'an expired request cannot be approved');
    for (let i = 0; i < 100 && (await h.auditRows(`event_type = 'access_request.expired' AND access_request_id = $1`, [req.id])).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [row] = (await h.store.query<{ state: string }>('SELECT state FROM access_requests WHERE id = $1', [req.id])).rows;
    t.equal(row?.state, 'expired', 'the sweep recorded it');
  } finally {
    h.clock.offsetMs = 0;
  }
});

t.test('break-glass → unreviewed → reviewed', async (t) => {
  const tooLong = await as(h, 'app-6', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'outage', durationSeconds: 1800, breakGlass: true });
  t.equal(tooLong.json().code, 'duration_too_long', 'break-glass has its own, shorter maximum');
  const bg = await as(h, 'app-6', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'outage INC-9', durationSeconds: 900, breakGlass: true });
  t.equal(bg.statusCode, 201, bg.body);
  t.match(bg.json(), { state: 'active', breakGlass: true, review: 'unreviewed', approvalsRequired: 0 });
  t.equal((await grantRw('app-6')).statusCode, 200, 'held at once');
  const [used] = await h.auditRows(`event_type = 'access_request.break_glass'`);
  t.equal(used?.caller_reason, 'outage INC-9');
  const list = await h.app.inject({ method: 'GET', url: '/v1/access-requests?breakGlass=true&review=unreviewed', headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
  t.same(list.json().items.map((i: { id: string }) => i.id), [bg.json().id], 'auditors list unreviewed break-glass uses');
  t.equal((await as(h, 'app-6', APPS, 'POST', `/v1/access-requests/${bg.json().id}/review`, { version: 1, note: 'fine' })).json().code, 'self_approval');
  const reviewed = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${bg.json().id}/review`, { version: 1, note: 'justified: INC-9' });
  t.match(reviewed.json(), { review: 'reviewed', reviewedBy: { subject: 'dba-alice' }, reviewNote: 'justified: INC-9' });
  const after = await h.app.inject({ method: 'GET', url: '/v1/access-requests?breakGlass=true&review=unreviewed', headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
  t.same(after.json().items, []);
});

t.test('bad input: clear 4xx with stable codes, never a 500', async (t) => {
  const post = (subject: string, body: Record<string, unknown>) => as(h, subject, APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'x', durationSeconds: 600, ...body });
  t.equal((await post('bad-1', { durationSeconds: 3601 })).json().code, 'duration_too_long');
  const unknownDb = await post('bad-1', { database: 'nope' });
  t.equal(unknownDb.statusCode, 403);
  t.equal(unknownDb.json().code, 'request_not_allowed');
  t.equal((await post('bad-1', { access: 'ro' })).json().code, 'request_not_allowed', 'a level the policy does not list');
  t.equal((await post('bad-2', { access: 'admin' })).json().code, 'validation_failed');
  t.equal((await post('bad-2', { reason: 'x'.repeat(501) })).json().code, 'validation_failed');
  t.equal((await post('bad-2', { durationSeconds: 10 })).json().code, 'validation_failed');
  const outsider = await as(h, 'stranger', [], 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'x', durationSeconds: 600 });
  t.equal(outsider.json().code, 'request_not_allowed');
  t.equal((await as(h, 'dba-alice', [], 'POST', '/v1/access-requests/00000000-0000-4000-8000-000000000000/approve', { version: 1 })).statusCode, 404);
  t.equal((await as(h, 'dba-alice', [], 'POST', '/v1/access-requests/not-a-uuid/approve', { version: 1 })).statusCode, 400);
  // The burst is 4 per caller: bad-1 used 3, bad-2 3 (validation failures never reach the service).
  const statuses: number[] = [];
  let limited;
  for (let i = 0; i < 6; i++) {
    const res = await post('flood', { reason: `flood ${i}` });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) limited = res;
  }
  t.ok(statuses.includes(429), `a flood is bounded (${statuses.join(',')})`);
  t.ok(Number(limited?.headers['retry-after']) >= 1, 'with Retry-After');
  // The first refusal's row is written beside the 429, not before it: wait for it.
  const started = () => h.auditRows(`event_type = 'rate_limit.started' AND actor_subject = 'flood'`);
  for (let i = 0; i < 100 && (await started()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal((await started()).length, 1, 'the flood is on the audit record');
  t.notOk(statuses.some((s) => s >= 500));
});

t.test('two approvals: each names the version it read, each approver counts once', async (t) => {
  const two = ordersPolicy(ISS, { name: 'orders-monitor-two', levels: ['monitor'], approvalsRequired: 2 });
  t.equal((await applyPolicies(h, [ordersPolicy(ISS), two])).statusCode, 200);
  const req = (await as(h, 'app-7', APPS, 'POST', '/v1/access-requests', { database: 'orders', access: 'monitor', reason: 'perf check', durationSeconds: 600 })).json();
  t.equal(req.approvalsRequired, 2);
  const first = await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 1 });
  t.match(first.json(), { state: 'pending', version: 2, approvals: [{ subject: 'dba-alice' }] }, 'one approval recorded, still pending');
  t.equal((await as(h, 'dba-alice', [], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 2 })).json().code, 'conflict', 'the same approver cannot count twice');
  t.equal((await as(h, 'ops-carol', ['oncall'], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 1 })).json().code, 'request_changed', 'a read from before the first approval cannot approve');
  const list = await as(h, 'ops-carol', ['oncall'], 'GET', '/v1/access-requests?state=pending');
  t.ok(list.json().items.some((i: { id: string }) => i.id === req.id), 'an approver lists what awaits them');
  t.same((await as(h, 'app-8', APPS, 'GET', '/v1/access-requests')).json().items, [], 'a stranger sees nothing of others');
  t.equal((await as(h, 'app-8', APPS, 'GET', `/v1/access-requests/${req.id}`)).statusCode, 404);
  const second = await as(h, 'ops-carol', ['oncall'], 'POST', `/v1/access-requests/${req.id}/approve`, { version: 2 });
  t.match(second.json(), { state: 'active', version: 3, approvals: [{ subject: 'dba-alice' }, { subject: 'ops-carol' }] });
  const steps = (await h.auditRows(`access_request_id = $1 AND outcome = 'succeeded'`, [req.id])).map((r) => r.event_type);
  t.same(steps, ['access_request.created', 'access_request.approval_recorded', 'access_request.approved']);
  t.equal((await h.grant(await h.token('app-7', APPS), { database: 'orders', access: 'monitor' })).statusCode, 200);
});
