// deploy/prometheus: the alert rules are valid (promtool check rules), fire as their unit tests say
// (promtool test rules), and name only metrics dab really exposes — a renamed metric must break
// this test, not silently mute an alert. promtool comes from Debian's prometheus package.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { exposedMetricNames, isExposed } from '../support/exposed-metrics.js';

const run = promisify(execFile);
const DIR = new URL('../../deploy/prometheus/', import.meta.url).pathname;

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: DIR });
    return stdout + stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is not installed: apt-get install prometheus (Debian ships promtool with it)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

t.test('promtool check rules', async (t) => {
  t.match(await promtool('check', 'rules', 'dab-alerts.yaml'), /SUCCESS: \d+ rules found/);
});

t.test('promtool test rules: every alert fires when its unit test says, and not before', async (t) => {
  t.match(await promtool('test', 'rules', 'dab-alerts.test.yaml'), /SUCCESS/);
});

t.test('every dab metric the rules use is one dab exposes', async (t) => {
  const exposed = await exposedMetricNames(t);
  const used = new Set([...readFileSync(join(DIR, 'dab-alerts.yaml'), 'utf8').matchAll(/\b(dab_[a-z_]+)\{/g)].map((m) => m[1]!));
  t.ok(used.size >= 5, `the rules use dab's metrics (${[...used].join(', ')})`);
  for (const name of used) t.ok(isExposed(exposed, name), `${name} is exposed`);
});
