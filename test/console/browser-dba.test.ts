import t from 'tap';
import { ADMIN_SUBJECT } from '../support/harness.js';
import { APP_SUBJECT, startConsoleRig } from './browser-support.js';

// The DBA's console in Chromium: sign-in with PKCE at the test issuer, databases with bootstrap
// artefacts and preflight, mappings with their windows, explain, dry-run then apply; and the
// tier split (an app identity sees only the caller pages: what it can get, requests, approvals).

const rig = await startConsoleRig(t);
const { h, page } = rig;
await h.registerOrders({ labels: { env: 'prod', team: 'payments' } });
await h.map(APP_SUBJECT, 'orders', ['ro'], { name: 'app-orders-ro', owner: 'team-payments' });
await h.map('group:oncall', 'orders', ['rw'], { name: 'oncall-rw', requireReason: true, owner: 'sre' });
const hour = 3600_000;
await h.map('later-app', 'orders', ['ro'], { name: 'later-app-ro', notBefore: new Date(Date.now() + 24 * hour).toISOString() });
// An expired mapping cannot be created (expiresAt in the past is refused): create it while dab's clock is behind.
h.clock.offsetMs = -3 * hour;
await h.map('gone-app', 'orders', ['ro'], { name: 'gone-app-ro', expiresAt: new Date(Date.now() - hour).toISOString() });
h.clock.offsetMs = 0;
const admin = async () => ({ authorization: `Bearer ${await h.adminToken()}` });

t.test('a DBA signs in and sees the access pages, not the audit pages', async (t) => {
  await page.goto(rig.consoleUrl);
  await page.getByRole('heading', { name: 'Sign in to the dab console' }).waitFor();
  await rig.shot('sign-in', { fullPage: false });
  await rig.signIn(ADMIN_SUBJECT);
  const nav = page.getByRole('navigation', { name: 'Console pages' });
  t.same(await nav.getByRole('link').allInnerTexts(), ['What can I get', 'Request access', 'Approvals', 'Databases', 'Mappings', 'Explain', 'Dry-run']);
  t.notOk(new URL(page.url()).search, 'the code and state are gone from the address bar');
});

t.test('databases: engine, endpoint, levels and DB users, labels; bootstrap artefacts; preflight', async (t) => {
  await rig.go('#/databases');
  const row = page.getByRole('row', { name: /orders/ });
  await row.waitFor();
  const text = await row.innerText();
  for (const want of ['postgres', 'orders.cluster-abc123.us-east-1.rds.amazonaws.com:5432', 'orders_ro', 'orders_rw', 'orders_monitor', 'env=prod', 'team=payments']) t.match(text, want);
  await rig.shot('databases');
  await row.getByRole('link', { name: 'orders' }).click();
  await page.getByRole('heading', { name: 'orders', exact: true }).waitFor();
  await page.getByLabel(/Schemas/).fill('sales, public');
  await page.getByRole('button', { name: 'Show SQL and policies' }).click();
  const sql = await page.locator('figure.copy', { hasText: 'SQL for the master user' }).locator('pre').innerText();
  t.match(sql, /GRANT rds_iam TO/, 'the bootstrap SQL is shown to copy');
  t.match(sql, /"sales"/, 'for the schemas asked for');
  t.match(await page.locator('figure.copy', { hasText: 'Trust policy' }).first().innerText(), /sts:AssumeRole/);
  // No network path to the (fictional) RDS host: the check without logins still assumes each role and mints a token.
  await page.getByLabel('Also log in with each token').uncheck();
  await page.getByRole('button', { name: 'Run preflight check' }).click();
  const verdict = page.locator('.verdict');
  await verdict.waitFor();
  t.match(await verdict.innerText(), 'Every level passed.');
  const steps = await page.getByRole('table', { name: /Preflight of orders/ }).innerText();
  t.match(steps, /ro[\s\S]*orders_ro[\s\S]*assume_role: ok[\s\S]*mint_token: ok/);
  t.notMatch(steps, /login:/, 'no login was tried');
  await rig.shot('database-detail');
});

t.test('mappings: filters, windows and requireReason shown, expired and not-yet-valid marked', async (t) => {
  await rig.go('#/mappings');
  const table = page.getByRole('table', { name: /mappings?$/ });
  await table.waitFor();
  t.match(await page.getByRole('table').locator('caption').innerText(), '4 mappings');
  const stateOf = async (name: string) => page.getByRole('row', { name: new RegExp(`^${name}`) }).locator('td[data-label="State"]').innerText();
  t.equal(await stateOf('gone-app-ro'), 'expired');
  t.equal(await stateOf('later-app-ro'), 'not yet valid');
  t.equal(await stateOf('app-orders-ro'), 'active');
  t.equal(await page.getByRole('row', { name: /^oncall-rw/ }).locator('td[data-label="Reason"]').innerText(), 'required');
  await rig.shot('mappings');
  await page.getByLabel('Owner').fill('sre');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('1 mapping', { exact: true }).waitFor();
  t.ok(await page.getByRole('row', { name: /^oncall-rw/ }).isVisible(), 'the owner filter is the API filter');
  await page.getByLabel('Owner').fill('');
  await page.getByLabel('Subject').fill(APP_SUBJECT);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('1 mapping', { exact: true }).waitFor();
  t.ok(await page.getByRole('row', { name: /^app-orders-ro/ }).isVisible());
});

t.test('explain names the deciding rule, as the API does', async (t) => {
  await rig.go('#/explain');
  // Keyboard only: focus starts at the heading, Tab follows the labels' order, Enter submits.
  const focused = () => page.evaluate('document.activeElement.name || document.activeElement.tagName');
  t.equal(await focused(), 'H1', 'a new page puts focus on its heading');
  const order: string[] = [];
  for (let i = 0; i < 7; i++) {
    await page.keyboard.press('Tab');
    order.push(String(await focused()));
    if (order[i] === 'subject') await page.keyboard.type(APP_SUBJECT);
    if (order[i] === 'database') await page.keyboard.type('orders');
    if (order[i] === 'access') await page.keyboard.press('ArrowDown');
  }
  t.same(order, ['issuer', 'subject', 'groups', 'database', 'access', 'reason', 'at'], 'Tab goes through the form in order');
  t.equal(await page.getByLabel('Level').inputValue(), 'rw', 'the level was chosen with the arrow key');
  await page.getByLabel('Reason').focus();
  await page.keyboard.press('Enter');
  const verdict = page.locator('.verdict');
  await verdict.waitFor();
  const api = (await h.app.inject({ method: 'POST', url: '/v1/access/explain', headers: await admin(), payload: { principal: { issuer: h.issuer.issuer, subject: APP_SUBJECT }, database: 'orders', access: 'rw' } })).json();
  t.equal(api.allowed, false);
  t.match(await verdict.innerText(), `Denied: ${api.reason}`);
  t.match(await page.getByRole('table', { name: /considered/ }).innerText(), /app-orders-ro[\s\S]*other_levels/);
  await rig.shot('explain');
  await page.getByLabel('Level').selectOption('ro');
  await page.getByRole('button', { name: 'Explain' }).click();
  await page.getByText(/^Allowed: mapping_allows by mapping app-orders-ro/).waitFor();
  t.match(await page.locator('.explanation').innerText(), 'DB user orders_ro');
});

t.test('dry-run shows changes, gains and losses, and changes nothing until applied', async (t) => {
  const before = (await h.app.inject({ method: 'GET', url: '/v1/mappings', headers: await admin() })).json().items.length;
  await rig.go('#/dry-run');
  await page.getByLabel('Access document').fill('mappings: [oops');
  await page.getByRole('button', { name: 'Dry-run' }).click();
  await page.getByText('Not a valid document').waitFor();
  const doc = `mappings:\n  - name: new-app-ro\n    principal: { issuer: "${h.issuer.issuer}", subject: new-app }\n    database: orders\n    levels: [ro]\n`;
  // Uploaded as a file, the document lands in the text area, to read before the dry-run.
  await page.getByLabel('Upload a file').setInputFiles({ name: 'access.yaml', mimeType: 'text/yaml', buffer: Buffer.from(doc) });
  // Polled from here: a string predicate would be compiled in the page, which its CSP forbids.
  const area = page.getByLabel('Access document');
  for (let i = 0; i < 200 && !(await area.inputValue()).includes('new-app-ro'); i++) await new Promise((r) => setTimeout(r, 25));
  t.equal(await page.getByLabel('Access document').inputValue(), doc, 'the uploaded file is shown as it is');
  await page.getByRole('button', { name: 'Dry-run' }).click();
  await page.getByRole('heading', { name: 'What would change' }).waitFor();
  t.match(await page.getByRole('table', { name: 'Changes' }).innerText(), /mapping\s+new-app-ro\s+create/);
  t.match(await page.getByRole('table', { name: 'Gains' }).innerText(), /new-app[\s\S]*orders\s+ro/);
  t.match(await page.locator('.plan').innerText(), 'Nobody loses access.');
  await rig.shot('dry-run');
  t.equal((await h.app.inject({ method: 'GET', url: '/v1/mappings', headers: await admin() })).json().items.length, before, 'the dry-run changed nothing');

  // A change of levels: the losses say who loses what. The stale plan cannot be applied meanwhile.
  const change = `mappings:\n  - name: app-orders-ro\n    principal: { issuer: "${h.issuer.issuer}", subject: ${APP_SUBJECT} }\n    database: orders\n    levels: [monitor]\n`;
  await page.getByLabel('Access document').fill(change);
  t.ok(await page.getByText('The document changed since this dry-run').isVisible(), 'a stale plan cannot be applied');
  await page.getByRole('button', { name: 'Dry-run' }).click();
  await page.getByRole('table', { name: 'Losses' }).waitFor();
  t.match(await page.getByRole('table', { name: 'Losses' }).innerText(), new RegExp(`${APP_SUBJECT}[\\s\\S]*orders\\s+ro`));
  t.match(await page.getByRole('table', { name: 'Gains' }).innerText(), new RegExp(`${APP_SUBJECT}[\\s\\S]*orders\\s+monitor`));
  t.match(await page.getByRole('table', { name: 'Changes' }).innerText(), /mapping\s+app-orders-ro\s+update/);
  await page.getByLabel('Access document').fill(doc);
  await page.getByRole('button', { name: 'Dry-run' }).click();
  await page.getByRole('button', { name: 'Apply these changes' }).waitFor();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Apply these changes' }).click();
  await page.getByText('Applied: 1 change(s).').waitFor();
  const after = (await h.app.inject({ method: 'GET', url: '/v1/mappings/new-app-ro', headers: await admin() })).json();
  t.match(after, { name: 'new-app-ro', principal: { subject: 'new-app' }, levels: ['ro'] });
});

t.test('an app identity sees the caller pages only', async (t) => {
  await rig.signOut();
  await rig.signIn(APP_SUBJECT);
  const nav = page.getByRole('navigation', { name: 'Console pages' });
  t.same(await nav.getByRole('link').allInnerTexts(), ['What can I get', 'Request access', 'Approvals']);
  const table = page.getByRole('table', { name: /Your access/ });
  await table.waitFor();
  t.match(await table.innerText(), /orders\s+ro\s+app-orders-ro/);
  await rig.shot('my-access');
  await rig.go('#/databases');
  t.equal(await page.locator('h1').first().innerText(), 'What can I get', 'a page of another tier is not offered');
});

t.test('tokens never reach a URL or web storage, and the CSP held', async (t) => {
  t.ok(rig.tokens.length >= 2, 'the token endpoint was used for each sign-in');
  for (const token of rig.tokens) t.notOk(rig.urls.some((u) => u.includes(token) || u.includes(token.slice(-40))), 'no URL carries the access token');
  t.notOk(rig.urls.some((u) => /access_token|id_token|eyJ[\w-]{10,}\./.test(u)), 'no URL carries any token');
  // Evaluated in the page (a string: these tests compile without the DOM's types).
  const storage = await page.evaluate('({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), cookie: document.cookie })');
  t.same(storage, { local: '{}', session: '{}', cookie: '' }, 'nothing left in localStorage, sessionStorage or cookies');
  t.same(rig.violations, [], 'no CSP violation, no uncaught error');
});
