// deploy/grafana/dab-dashboard.json: valid JSON a Grafana can import, every panel's PromQL parses
// (promtool checks them as recording rules), and every metric it charts is one dab exposes.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { exposedMetricNames, isExposed } from '../support/exposed-metrics.js';

const run = promisify(execFile);
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/dab-dashboard.json', import.meta.url), 'utf8')) as {
  uid: string;
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};
const exprs = dashboard.panels.flatMap((p) => p.targets.map((target) => ({ panel: p.title, expr: target.expr })));

t.test('the dashboard has panels, each with a query', async (t) => {
  t.equal(dashboard.uid, 'dab-overview');
  t.ok(dashboard.panels.length >= 8, `${dashboard.panels.length} panels`);
  for (const p of dashboard.panels) t.ok(p.targets.length > 0 && p.targets.every((x) => x.expr.length > 0), `${p.title} queries something`);
});

t.test("every panel's PromQL parses (promtool, with Grafana's variables filled in)", async (t) => {
  const dir = t.testdir();
  const rules = {
    groups: [{ name: 'dashboard', rules: exprs.map(({ expr }, i) => ({ record: `dashboard:query_${i}`, expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', 'dab') })) }],
  };
  writeFileSync(join(dir, 'queries.yaml'), JSON.stringify(rules)); // JSON is YAML
  try {
    const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'queries.yaml')]);
    t.match(stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    t.fail(e.code === 'ENOENT' ? 'promtool is not installed: apt-get install prometheus' : `${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
});

t.test('every metric the dashboard charts is one dab exposes', async (t) => {
  const exposed = await exposedMetricNames(t);
  const used = new Set(exprs.flatMap(({ expr }) => [...expr.matchAll(/\b((?:dab|process|nodejs)_[a-z_]+)\{/g)].map((m) => m[1]!)));
  t.ok(used.size >= 10, `the dashboard charts ${used.size} series`);
  for (const name of used) t.ok(isExposed(exposed, name), `${name} is exposed`);
});
