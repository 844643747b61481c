import { readFileSync } from 'node:fs';
import t from 'tap';
import { AUDITOR_SUBJECT } from '../support/harness.js';
import { asSuperuser, eventIds } from '../support/seal-helpers.js';
import { APP_SUBJECT, startConsoleRig } from './browser-support.js';

// The auditor's console in Chromium: events with filters and cursor paging while new events
// arrive, the chart, CSV/NDJSON export of the current filter, who-held-it, token and access-key
// lookup, integrity (intact, then a tampered row reported), phone width, an expired session.

const rig = await startConsoleRig(t);
const { h, page } = rig;
await h.registerOrders();
await h.map(APP_SUBJECT, 'orders', ['ro']);
const app = await h.token(APP_SUBJECT);
const grants: Array<{ token: string; grantId: string; accessKeyId?: string }> = [];
for (let i = 0; i < 12; i++) {
  const res = await h.grant(app, { database: 'orders', access: i % 3 === 0 ? 'rw' : 'ro' });
  if (res.statusCode === 200) grants.push(res.json());
  else if (res.statusCode !== 403) throw new Error(res.body);
}
await h.app.auditSealer.sealNow();
const auditorHeaders = async () => ({ authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` });
const api = async (url: string) => {
  const res = await h.app.inject({ method: 'GET', url, headers: await auditorHeaders() });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res;
};
const cellTexts = (column: string) => page.locator(`tbody td[data-label="${column}"]`).allInnerTexts();

t.test('an auditor signs in and sees the audit pages, not the access pages', async (t) => {
  await rig.signIn(AUDITOR_SUBJECT);
  const nav = page.getByRole('navigation', { name: 'Console pages' });
  t.same(await nav.getByRole('link').allInnerTexts(), ['What can I get', 'Request access', 'Approvals', 'Events', 'Who held it?', 'Token lookup', 'Integrity']);
  t.equal(await page.locator('h1').first().innerText(), 'Audit events', 'an auditor lands on the events');
});

t.test('events: a filter is the API filter; the chart shows outcomes', async (t) => {
  await page.getByLabel('Outcome', { exact: true }).selectOption('denied');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('table', { name: /^Page 1/ }).waitFor();
  const denied = (await api('/v1/audit/events?outcome=denied')).json().items.length;
  t.equal(denied, 4, 'every third grant was refused');
  t.same(await cellTexts('Outcome'), Array(denied).fill('denied'));
  await page.getByLabel('Outcome', { exact: true }).selectOption('');
  await page.getByLabel('Event type').fill('credential.issued');
  await page.getByLabel('Level').selectOption('ro');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('Page 1: 8 events').waitFor();
  t.same(new Set(await cellTexts('Outcome')), new Set(['issued']));
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('figure.chart svg').waitFor();
  t.equal(await page.locator('rect.bar-issued').count() > 0, true, 'issued bars');
  t.equal(await page.locator('rect.bar-denied').count() > 0, true, 'denied bars');
  t.match(await page.locator('.legend').innerText(), /issued: 8[\s\S]*denied: 4/);
});

t.test('cursor paging stays stable while new events arrive', async (t) => {
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByLabel('Page size').fill('5');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('Page 1: 5 events').waitFor();
  const rowsShown = () => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
  const first = await rowsShown();
  await rig.shot('events');
  // New events at the head of the log (newest first): the next page must not repeat or skip any.
  for (let i = 0; i < 3; i++) await h.grant(app, { database: 'orders', access: 'ro' });
  await page.getByRole('button', { name: /Next page/ }).click();
  await page.getByText('Page 2: 5 events').waitFor();
  const second = await rowsShown();
  // What the API pages are without the new events: the 6th to 10th newest before them.
  const all = (await api('/v1/audit/events?limit=1000')).json().items as Array<{ eventId: string }>;
  t.equal(all.length, 12 + 3 + 2, 'the first grants and denials, the new grants, two admin changes');
  t.equal(new Set([...first, ...second]).size, 10, 'page 2 continues page 1, no event twice');
  await page.getByRole('button', { name: /Previous page/ }).click();
  await page.getByText('Page 1: 5 events').waitFor();
  t.same(await rowsShown(), first, 'back to the same first page');
  await page.getByRole('button', { name: 'Show' }).first().click();
  t.match(await page.locator('figure.copy pre').innerText(), /"eventId"/, 'an event opens in full');
});

t.test('export downloads the current filter as CSV and NDJSON, as the API exports it', async (t) => {
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByLabel('Outcome', { exact: true }).selectOption('denied');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('Page 1: 4 events').waitFor();
  for (const format of ['csv', 'ndjson'] as const) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: format.toUpperCase(), exact: true }).click()]);
    t.match(download.suggestedFilename(), new RegExp(`^dab-audit-.*\\.${format}$`));
    t.match(download.url(), /^blob:/, 'a blob: URL, no query string with the filter or a token');
    const got = readFileSync(await download.path(), 'utf8');
    const want = (await api(`/v1/audit/export?outcome=denied&format=${format}`)).body;
    t.equal(got, want, `${format}: the same bytes as the API's export of this filter`);
    t.equal(got.trim().split('\n').length, format === 'csv' ? 5 : 4);
  }
});

t.test('who held it: the grants valid for a DB user at an instant', async (t) => {
  await rig.go('#/holders');
  await page.getByLabel('Database').fill('orders');
  await page.getByLabel('DB user').fill('orders_ro');
  await page.getByRole('button', { name: 'Ask' }).click();
  await page.getByRole('table', { name: /Holders of orders_ro on orders/ }).waitFor();
  const at = await page.getByLabel(/^At/).inputValue();
  const want = (await api(`/v1/audit/holders?database=orders&dbUser=orders_ro&at=${encodeURIComponent(new Date(`${at}Z`).toISOString())}`)).json().items.length;
  t.ok(want >= 8, 'the ro grants are held');
  t.equal(await page.locator('tbody tr').count(), want, 'as many as the API lists');
  t.same(new Set(await cellTexts('Who')), new Set([APP_SUBJECT]));
  await rig.shot('holders');
  await page.getByLabel('DB user').fill('orders_rw');
  await page.getByRole('button', { name: 'Ask' }).click();
  await page.getByText('Nobody held a token for this DB user at that instant.').waitFor();
  t.pass('nobody held orders_rw (every rw request was refused)');
});

t.test('lookup by token (in the body) and by access key id', async (t) => {
  const grant = grants[1] as { token: string; grantId: string };
  await rig.go('#/lookup');
  await page.getByLabel('Auth token (raw or URL-encoded)').fill(grant.token);
  await page.getByRole('button', { name: 'Look up' }).click();
  // Grants within one signing second share a token (dab reuses it), so a token can name several.
  const res = await h.app.inject({ method: 'POST', url: '/v1/audit/lookup', headers: await auditorHeaders(), payload: { token: grant.token } });
  const ids = (res.json().items as Array<{ eventId: string }>).map((e) => e.eventId);
  t.ok(ids.includes(grant.grantId));
  await page.getByText(`${ids.length} grant(s)`).waitFor();
  t.same(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key'))), ids, 'the grants the API names');
  t.notOk(rig.urls.some((u) => u.includes(grant.token.slice(-32))), 'the looked-up token was in no URL');
  const accessKeyId = (await api(`/v1/audit/events?grantId=${grant.grantId}`)).json().items[0].accessKeyId as string;
  await page.getByRole('radio', { name: 'Access key id' }).check();
  await page.getByLabel('STS access key id').fill(accessKeyId);
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByRole('table', { name: /grant\(s\)/ }).waitFor();
  t.ok((await page.locator('tbody tr').count()) >= 1, 'the grants that key signed');
  await page.getByLabel('STS access key id').fill('not a key');
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByRole('alert').waitFor();
  t.match(await page.getByRole('alert').innerText(), '(400)', 'a bad key id is the API\'s 400, shown');
});

t.test('integrity: intact with the latest checkpoint, then a tampered row is reported', async (t) => {
  await h.app.auditSealer.sealNow();
  await rig.go('#/integrity');
  await page.locator('.verdict[data-result]').waitFor();
  t.match(await page.locator('.verdict').innerText(), 'Intact');
  await page.getByText(/^#\d+ through event \d+$/).last().waitFor();
  const checkpoint = (await api('/v1/audit/checkpoints/latest')).json();
  t.match(await page.locator('section').innerText(), checkpoint.signature, 'the latest signed checkpoint is shown');
  const id = (await eventIds(h.store))[3] as number;
  await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_events SET reason = 'nothing to see' WHERE id = ${id}`));
  await page.getByRole('button', { name: 'Verify again' }).click();
  await page.locator('.verdict[data-result="tampered"]').waitFor();
  const broken = await page.locator('dl.broken').innerText();
  t.match(broken, new RegExp(`First broken event\\s+${id}\\s`));
  t.match(broken, /Kind\s+edited/);
  await rig.shot('integrity-tampered');
});

t.test('at phone width the pages fit the screen', async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await rig.go('#/events');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('table', { name: /^Page 1/ }).waitFor();
  const width = await page.evaluate('document.documentElement.scrollWidth');
  t.ok((width as number) <= 390, `no sideways scrolling of the page (${width} px); wide tables scroll in their box`);
  await page.evaluate("document.querySelector('.chart').scrollIntoView()");
  await rig.shot('events-phone', { fullPage: false });
  await page.setViewportSize({ width: 1280, height: 900 });
});

t.test('an expired session says so and offers sign-in again', async (t) => {
  await rig.signOut();
  rig.setLogin(2);
  await rig.signIn(AUDITOR_SUBJECT);
  await page.getByRole('heading', { name: 'Your session has expired' }).waitFor({ timeout: 10_000 });
  await rig.shot('session-expired', { fullPage: false });
  rig.setLogin(3600);
  await page.getByRole('button', { name: 'Sign in again' }).click();
  await page.getByRole('button', { name: `Sign in as ${AUDITOR_SUBJECT}` }).click();
  await page.getByText(`Signed in as ${AUDITOR_SUBJECT}`).waitFor();
  t.same(rig.violations, [], 'no CSP violation, no uncaught error');
});
