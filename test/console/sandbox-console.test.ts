import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { instructions } from '../../src/cli/sandbox-command.js';
import { consoleUrl, SANDBOX_DATABASE, SANDBOX_PRINCIPALS, startSandbox } from '../../src/sandbox/sandbox.js';
import { launchChromium } from './browser-support.js';

// "npm start, open the printed console URL, sign in as the demo DBA or auditor": the sandbox as
// it starts, its printed URL, its own issuer's login page, and its data.

const dataDir = mkdtempSync(join(tmpdir(), 'dab-console-sandbox-'));
const sandbox = await startSandbox({ port: 0, dataDir, logLevel: 'silent', mysql: false });
t.teardown(async () => {
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
});
const { page } = await launchChromium(t);
const printed = /web console\s+(\S+)/.exec(instructions(sandbox))?.[1];

async function signIn(subject: string) {
  await page.goto(printed as string);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: `Sign in as ${subject}` }).click();
  await page.getByText(`Signed in as ${subject}`).waitFor();
}

t.test('the sandbox prints the console URL', async (t) => {
  t.equal(printed, consoleUrl(sandbox.dabUrl));
  t.match(printed, /^http:\/\/127\.0\.0\.1:\d+\/console\/$/);
});

t.test('the demo DBA signs in and the preflight logs in to the demo database for real', async (t) => {
  await signIn(SANDBOX_PRINCIPALS.dba);
  await page.getByRole('link', { name: SANDBOX_DATABASE, exact: true }).click();
  await page.getByRole('button', { name: 'Run preflight check' }).click();
  await page.locator('.verdict').waitFor({ timeout: 30_000 });
  t.match(await page.locator('.verdict').innerText(), 'Every level passed.');
  const steps = await page.getByRole('table', { name: /Preflight of demo/ }).innerText();
  t.equal(steps.match(/login: ok/g)?.length, 3, 'ro, rw and monitor each logged in through the IAM gate');
  await page.getByRole('button', { name: 'Sign out' }).click();
});

t.test('the demo auditor signs in and sees the seeding in the log, intact', async (t) => {
  await signIn(SANDBOX_PRINCIPALS.auditor);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('table', { name: /^Page 1/ }).waitFor();
  t.match(await page.locator('tbody').innerText(), 'database.created');
  await page.getByRole('link', { name: 'Integrity' }).click();
  await page.locator('.verdict[data-result]').waitFor();
  t.match(await page.locator('.verdict').innerText(), 'Intact');
});
