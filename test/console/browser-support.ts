import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_SUBJECT, AUDITOR_SUBJECT, startHarness, type Harness, type HarnessOptions } from '../support/harness.js';

// A real dab on loopback (the harness's app, listening), the harness's OIDC issuer with its login
// page on, and Debian's Chromium driven by playwright-core. Never a downloaded browser.

export const CHROMIUM = '/usr/bin/chromium';
export const CLIENT_ID = 'dab-console';
// The committed screenshots (README shows them) are rewritten only when asked, so a test run leaves
// the checkout as it found it; otherwise every page is still shot, into a temporary folder.
const COMMITTED_SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
export const SCREENSHOTS = process.env.DAB_UPDATE_SCREENSHOTS === '1' ? COMMITTED_SCREENSHOTS : path.join(tmpdir(), `dab-console-screenshots-${process.pid}`);
export const APP_SUBJECT = 'app-orders';

interface Teardown {
  teardown(fn: () => unknown): void;
  testdir(): string;
}

export interface ConsoleRig {
  h: Harness;
  consoleUrl: string;
  page: Page;
  context: BrowserContext;
  /** Every URL the page requested or navigated to, in order. */
  urls: string[];
  /** Access tokens the issuer's token endpoint handed the browser. */
  tokens: string[];
  /** Console messages about Content-Security-Policy violations, and uncaught page errors. */
  violations: string[];
  checkpointPublicKeyPem: string;
  signIn(subject: string): Promise<void>;
  signOut(): Promise<void>;
  go(hash: string): Promise<void>;
  shot(name: string, opts?: { fullPage?: boolean }): Promise<void>;
  setLogin(tokenTtlSeconds: number): void;
}

/** Debian's Chromium with a fresh profile, headless, at 1280 px, in UTC; closed at teardown. */
export async function launchChromium(t: Pick<Teardown, 'teardown'>): Promise<{ context: BrowserContext; page: Page }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'dab-console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  t.teardown(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    if (SCREENSHOTS !== COMMITTED_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
  });
  context.setDefaultTimeout(15_000);
  return { context, page: context.pages()[0] ?? (await context.newPage()) };
}

export async function startConsoleRig(t: Teardown, opts: HarnessOptions = {}): Promise<ConsoleRig> {
  const dir = t.testdir();
  const keys = generateKeyPairSync('ed25519');
  writeFileSync(`${dir}/checkpoint-key.pem`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const h = await startHarness(t, {
    ...opts,
    config: (c) => {
      c.console = { oidc: { issuer: c.auth.issuers[0].issuer, clientId: CLIENT_ID, scopes: ['openid'] } };
      Object.assign(c.audit, { sealIntervalSeconds: 0, checkpointKeyFile: `${dir}/checkpoint-key.pem`, checkpointIntervalSeconds: 0 });
      opts.config?.(c);
    },
  });
  const dabUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  const consoleUrl = `${dabUrl}/console/`;
  const setLogin = (tokenTtlSeconds: number) =>
    h.issuer.enableLogin({
      clients: [{ clientId: CLIENT_ID, redirectUris: [consoleUrl] }],
      principals: [
        { subject: ADMIN_SUBJECT, label: 'DBA' },
        { subject: AUDITOR_SUBJECT, label: 'auditor' },
        { subject: APP_SUBJECT, label: 'app' },
      ],
      tokenTtlSeconds,
    });
  setLogin(3600);

  const { context, page } = await launchChromium(t);
  const urls: string[] = [];
  const tokens: string[] = [];
  const violations: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('framenavigated', (f) => urls.push(f.url()));
  page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
  });
  page.on('response', async (r) => {
    if (r.url().startsWith(`${h.issuer.issuer}/token`) && r.request().method() === 'POST' && r.ok()) tokens.push(((await r.json()) as { access_token: string }).access_token);
  });
  mkdirSync(SCREENSHOTS, { recursive: true });

  const rig: ConsoleRig = {
    h,
    consoleUrl,
    page,
    context,
    urls,
    tokens,
    violations,
    checkpointPublicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    async signIn(subject) {
      await page.goto(consoleUrl);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: new RegExp(`Sign in as ${subject}$`) }).click();
      await page.getByText(`Signed in as ${subject}`).waitFor();
    },
    async signOut() {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to the dab console' }).waitFor();
    },
    async go(hash) {
      // A same-document navigation: the session (in memory) survives it, as a click on the nav would.
      await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
      await page.locator('h1').first().waitFor();
    },
    async shot(name, o = {}) {
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: o.fullPage ?? true, animations: 'disabled' });
    },
    setLogin,
  };
  return rig;
}
