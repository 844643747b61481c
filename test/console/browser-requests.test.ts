import t from 'tap';
import { ADMIN_SUBJECT, AUDITOR_SUBJECT } from '../support/harness.js';
import { applyPolicies, as } from '../access-requests/support.js';
import { APP_SUBJECT, startConsoleRig } from './browser-support.js';

// Just-in-time access in Chromium, as its people use it: the app identity asks for rw (a duration
// over the policy's maximum is refused, in the API's words); the DBA approves, first from a stale
// read (409, lists read again) after a second approver acted through the API, then for real; the
// requester sees the window, gives it back, takes break-glass; the auditor sees it unreviewed; the
// DBA reviews it and ends the window.

const rig = await startConsoleRig(t);
const { h, page } = rig;
await h.registerOrders();
await h.map(APP_SUBJECT, 'orders', ['ro']);
const ISS = h.issuer.issuer;
const CAROL = 'oncall-carol';
const policy = {
  name: 'orders-rw-on-request',
  requesters: [{ issuer: ISS, subject: APP_SUBJECT }],
  database: 'orders',
  levels: ['rw'],
  approvers: [{ issuer: ISS, subject: ADMIN_SUBJECT }, { issuer: ISS, subject: CAROL }],
  approvalsRequired: 2,
  maxDurationSeconds: 3600,
  breakGlass: { maxDurationSeconds: 900 },
};
const applied = await applyPolicies(h, [policy]);
if (applied.statusCode !== 200) throw new Error(applied.body);

const alert = page.getByRole('alert');
// What the page says after a step, in full: waits for it (an earlier outcome stays shown until then).
const says = async (tt: Pick<typeof t, 'equal' | 'match'>, want: string | RegExp) => {
  const status = page.locator('p[role="status"].verdict', { hasText: want });
  await status.waitFor();
  if (typeof want === 'string') tt.equal(await status.innerText(), want, 'the page says what happened');
  else tt.match(await status.innerText(), want, 'the page says what happened');
};
const rowOf = (table: string, text: string) => page.getByRole('table', { name: table }).getByRole('row').filter({ hasText: text });
const cell = (row: ReturnType<typeof rowOf>, column: string) => row.locator(`td[data-label="${column}"]`).innerText();
const MINE = 'Your requests, newest first';

t.test('the requester asks for rw: over the maximum is refused in the API\'s words, then filed', async (t) => {
  await rig.signIn(APP_SUBJECT);
  const nav = page.getByRole('navigation', { name: 'Console pages' });
  t.same(await nav.getByRole('link').allInnerTexts(), ['What can I get', 'Request access', 'Approvals']);
  await nav.getByRole('link', { name: 'Request access' }).click();
  await page.getByRole('form', { name: 'Request access' }).waitFor();
  t.equal(await page.getByLabel('Database').inputValue(), 'orders', 'the databases a policy lets this caller request');
  t.same(await page.getByLabel('Level').locator('option').allInnerTexts(), ['rw']);
  t.match(await page.getByText('At most 1 h (policy orders-rw-on-request)').innerText(), 'At most 1 h', 'the limit is shown as a hint');
  await page.getByLabel('Duration (minutes)').fill('120');
  await page.getByLabel('Reason').fill('fix order 42');
  await page.getByRole('button', { name: 'Request (2 approvals needed)' }).click();
  await alert.waitFor();
  const refused = await alert.innerText();
  t.match(refused, '(400)');
  t.match(refused, 'durationSeconds 7200 is over the maximum of policy "orders-rw-on-request" (3600 s)', 'the server\'s message, shown');
  await page.getByText('You have made no requests.').waitFor();

  await page.getByLabel('Duration (minutes)').fill('30');
  await page.getByRole('button', { name: 'Request (2 approvals needed)' }).click();
  await says(t, 'Requested rw on orders: pending approval.');
  const row = rowOf(MINE, 'fix order 42');
  await row.waitFor();
  t.equal(await cell(row, 'State'), 'pending');
  t.equal(await cell(row, 'Approvals'), '0 of 2');
  t.match(await cell(row, 'Window'), /^30 min once approved; waits until /);
  t.equal(await alert.count(), 0, 'the earlier refusal is gone');
  await rig.shot('request-access');
});

t.test('the approver sees it waiting; a stale approval is refused and the list read again; then approved', async (t) => {
  await rig.signOut();
  await rig.signIn(ADMIN_SUBJECT);
  await rig.go('#/approvals');
  const row = rowOf('Pending requests you may decide', 'fix order 42');
  await row.waitFor();
  t.equal(await cell(row, 'Requester'), APP_SUBJECT);
  t.equal(await cell(row, 'Version'), '1');
  // Meanwhile the other approver approves through the API: the page still shows version 1.
  const [pending] = (await as(h, CAROL, [], 'GET', '/v1/access-requests?approvable=true&state=pending')).json().items;
  t.equal((await as(h, CAROL, [], 'POST', `/v1/access-requests/${pending.id}/approve`, { version: 1 })).statusCode, 200);
  await row.getByRole('button', { name: 'Approve', exact: true }).click();
  await alert.waitFor();
  const conflict = await alert.innerText();
  t.match(conflict, '(409)');
  t.match(conflict, 'is at version 2, you read version 1: read it again before you decide');
  await page.getByText('The lists below were read again').waitFor();
  await row.locator('td[data-label="Version"]', { hasText: '2' }).waitFor();
  t.equal(await cell(row, 'Approvals'), `1 of 2 (${CAROL})`, 'the request as it is now');
  await rig.shot('approvals');

  await row.getByRole('button', { name: 'Approve', exact: true }).click();
  await says(t, `${APP_SUBJECT}'s rw on orders: active.`);
  await page.getByText('Nothing awaits your decision.').waitFor();
  t.match(await cell(rowOf('Open windows you may end now', 'fix order 42'), 'Approvals'), `2 of 2 (${CAROL}, ${ADMIN_SUBJECT})`);
});

t.test('the requester sees the window active, cannot stack break-glass on it, gives it back, takes break-glass', async (t) => {
  await rig.signOut();
  await rig.signIn(APP_SUBJECT);
  await rig.go('#/requests');
  const row = rowOf(MINE, 'fix order 42');
  await row.waitFor();
  t.equal(await cell(row, 'State'), 'active');
  t.match(await cell(row, 'Window'), / to /, 'the window, start to end');

  await page.getByLabel('Break-glass: take it now, without approval').check();
  t.match(await page.getByText('At most 15 min (policy orders-rw-on-request)').innerText(), '15 min', 'break-glass has its own maximum');
  await page.getByLabel('Duration (minutes)').fill('10');
  await page.getByLabel('Reason').fill('outage INC-9');
  await page.getByRole('button', { name: 'Take it now' }).click();
  await alert.waitFor();
  t.match(await alert.innerText(), /\(409\)[\s\S]*you already hold rw on "orders" through request /);

  await row.getByRole('button', { name: 'Give back now' }).click();
  await row.locator('td[data-label="State"]', { hasText: 'cancelled' }).waitFor();
  t.equal(await cell(row, 'Closed'), `by ${APP_SUBJECT}`);
  await page.getByRole('button', { name: 'Take it now' }).click();
  await says(t, /^Active now: rw on orders until /);
  const used = rowOf(MINE, 'outage INC-9');
  t.equal(await cell(used, 'State'), 'active break-glass');
  t.equal(await cell(used, 'Approvals'), 'none needed');
});

t.test('the auditor sees the break-glass use unreviewed; an approver of its policy reviews it', async (t) => {
  await rig.signOut();
  await rig.signIn(AUDITOR_SUBJECT);
  await rig.go('#/approvals');
  const row = rowOf('Break-glass uses nobody has reviewed yet', 'outage INC-9');
  await row.waitFor();
  t.equal(await cell(row, 'Requester'), APP_SUBJECT);
  t.equal(await cell(row, 'Review'), 'an approver of orders-rw-on-request reviews it', 'an auditor sees it, but it is not theirs to review');
  t.equal(await page.getByText('Nothing awaits your decision.').count(), 1);
  await rig.shot('break-glass-unreviewed');

  await rig.signOut();
  await rig.signIn(ADMIN_SUBJECT);
  await rig.go('#/approvals');
  await row.getByRole('button', { name: 'Mark reviewed…' }).click();
  await row.getByLabel('What the review found').fill('justified: INC-9');
  await row.getByRole('button', { name: 'Mark reviewed', exact: true }).click();
  await says(t, `${APP_SUBJECT}'s rw on orders: reviewed.`);
  await page.getByText('No break-glass use awaits review.').waitFor();

  const open = rowOf('Open windows you may end now', 'outage INC-9');
  await open.getByRole('button', { name: 'Revoke…' }).click();
  await open.getByLabel('Why the window ends now').fill('incident over');
  await open.getByRole('button', { name: 'Revoke', exact: true }).click();
  await says(t, `${APP_SUBJECT}'s rw on orders: revoked.`);
  await page.getByText('No open window is yours to end.').waitFor();
  const [reviewed] = (await as(h, AUDITOR_SUBJECT, [], 'GET', '/v1/access-requests?breakGlass=true')).json().items;
  t.match(reviewed, { state: 'revoked', review: 'reviewed', reviewNote: 'justified: INC-9', closeReason: 'incident over', reviewedBy: { subject: ADMIN_SUBJECT } }, 'what the API now says');
});

t.test('a denial needs a reason, and the requester reads it', async (t) => {
  const filed = await as(h, APP_SUBJECT, [], 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'rerun the export', durationSeconds: 600 });
  t.equal(filed.statusCode, 201, filed.body);
  await rig.go('#/mine');
  await rig.go('#/approvals');
  const row = rowOf('Pending requests you may decide', 'rerun the export');
  await row.getByRole('button', { name: 'Deny…' }).click();
  await row.getByRole('button', { name: 'Deny', exact: true }).click();
  // The browser refuses the empty field and focuses it (evaluated in the page: no DOM types here).
  t.equal(await page.evaluate('document.activeElement.validity.valueMissing && document.activeElement.labels[0].textContent'), 'Why you deny (the requester reads it)', 'no denial without a reason');
  await row.getByLabel('Why you deny (the requester reads it)').fill('use ro for an export');
  await row.getByRole('button', { name: 'Deny', exact: true }).click();
  await says(t, `${APP_SUBJECT}'s rw on orders: denied.`);

  await rig.signOut();
  await rig.signIn(APP_SUBJECT);
  await rig.go('#/requests');
  const mine = rowOf(MINE, 'rerun the export');
  await mine.waitFor();
  t.equal(await cell(mine, 'State'), 'denied');
  t.equal(await cell(mine, 'Closed'), `by ${ADMIN_SUBJECT}: use ro for an export`);
  t.equal(await cell(mine, 'Actions'), '—', 'nothing left to do with it');
});

t.test('at phone width both pages fit the screen', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const hash of ['#/requests', '#/approvals']) {
    await rig.go(hash);
    await page.getByRole('heading', { name: 'My requests' }).or(page.getByRole('heading', { name: 'Unreviewed break-glass' })).waitFor();
    const width = await page.evaluate('document.documentElement.scrollWidth');
    t.ok((width as number) <= 390, `${hash}: no sideways scrolling (${width} px)`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  t.same(rig.violations, [], 'no CSP violation, no uncaught error');
});
