import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import t from 'tap';
import { runCli } from '../../src/cli/run-cli.js';
import { macKeyOf } from '../support/seal-helpers.js';
import { auditorGet, parseCsv, query, seedSpread } from '../support/audit-fixtures.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';

async function cli(argv: string[], env: Record<string, string | undefined>, opts: { tty?: boolean } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status: string[] = [];
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  const code = await runCli(argv, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env,
    stdout,
    ...(opts.tty ? { status: (s: string) => status.push(s) } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n'), stdout: Buffer.concat(chunks).toString('utf8'), status };
}

const h = await startHarness(t);
await h.registerOrders();
await h.map('alice', 'orders', ['ro']);
if ((await h.grant(await h.token('alice'), { database: 'orders', access: 'ro', reason: '=HYPERLINK("x")' })).statusCode !== 200) throw new Error('grant failed');
await seedSpread(h.store, 30, new Date('2025-03-01T00:00:00Z'), macKeyOf(h));
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { DAB_URL: url, DAB_TOKEN: await h.token(AUDITOR_SUBJECT) };

async function events(params: Record<string, string>) {
  return (await auditorGet(h, `/v1/audit/events?${query({ ...params, order: 'asc', limit: 1000 })}`)).json().items as Record<string, unknown>[];
}

t.test('NDJSON to a file: the same events as the API, and a summary on stderr', async (t) => {
  const dir = t.testdir();
  const file = `${dir}/orders.ndjson`;
  const res = await cli(['audit', 'export', '--database', 'orders', '--output', file], env);
  t.equal(res.code, 0, res.err);
  const expected = await events({ database: 'orders' });
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  t.same(lines.map((l) => JSON.parse(l)), expected);
  t.match(res.err, new RegExp(`^exported ${expected.length} events \\(\\d+/s\\) to ${file}$`));
  t.equal(res.stdout, '', 'nothing on stdout');
  t.same(readdirSync(dir), ['orders.ndjson'], 'no partial file left behind');
});

t.test('CSV to stdout, counted right even with line breaks and quotes in values', async (t) => {
  const res = await cli(['audit', 'export', '--format', 'csv', '--event-type', 'credential.issued', '--order', 'desc'], env);
  t.equal(res.code, 0, res.err);
  const [header, ...rows] = parseCsv(res.stdout);
  const expected = (await events({ eventType: 'credential.issued' })).reverse();
  t.equal(header?.[0], 'id');
  t.same(rows.map((r) => r[0]), expected.map((e) => e.id));
  t.ok(rows.some((r) => r.includes(`'=HYPERLINK("x")`)), 'the formula-looking reason is defused');
  t.match(res.err, new RegExp(`^exported ${expected.length} events \\(\\d+/s\\)$`));
});

t.test('on a terminal, a progress line is rewritten and then cleared before the summary', async (t) => {
  const res = await cli(['audit', 'export'], env, { tty: true });
  t.equal(res.code, 0, res.err);
  t.ok(res.status.length >= 2, 'progress shown');
  t.match(res.status[0], /^exported \d+ events \(\d+\/s\)$/);
  t.equal(res.status[res.status.length - 1], '', 'cleared');
  t.match(res.err, /^exported \d+ events/);
  const lines = res.stdout.trimEnd().split('\n');
  t.equal(res.err.match(/exported (\d+)/)?.[1], String(lines.length), 'the count is the number of events written');
});

t.test('errors are one line with distinct exit codes, and leave no file', async (t) => {
  const dir = t.testdir();
  const cases: Array<{ argv: string[]; env?: Record<string, string>; code: number; message: RegExp }> = [
    { argv: ['--bogus'], code: 2, message: /Unknown option '--bogus'/ },
    { argv: ['extra-positional'], code: 2, message: /Unexpected argument|positional/i },
    { argv: ['--format', 'xlsx'], code: 2, message: /--format must be ndjson or csv/ },
    { argv: ['--order', 'up'], code: 2, message: /--order must be asc or desc/ },
    { argv: ['--timeout', '0'], code: 2, message: /--timeout must be a positive number/ },
    { argv: ['--from', 'yesterday'], code: 2, message: /dab refused the filters: --from must match format "date-time"/ },
    { argv: ['--grant-id', 'g1'], code: 2, message: /--grant-id must match format "uuid"/ },
    { argv: [], env: { DAB_TOKEN: env.DAB_TOKEN }, code: 2, message: /pass --url or set DAB_URL/ },
    { argv: [], env: { DAB_URL: url }, code: 2, message: /no caller token/ },
    { argv: ['--url', 'http://127.0.0.1:1'], env: { DAB_TOKEN: env.DAB_TOKEN }, code: 4, message: /cannot reach dab at http:\/\/127\.0\.0\.1:1.*is dab running/ },
    { argv: [], env: { DAB_URL: url, DAB_TOKEN: await h.adminToken() }, code: 5, message: /needs an auditor's token/ },
    { argv: [], env: { DAB_URL: url, DAB_TOKEN: 'a.b.c' }, code: 6, message: /dab rejected your token/ },
    { argv: ['--output', `${dir}/missing/out.ndjson`], code: 1, message: /cannot write .*missing\/out\.ndjson \(ENOENT\)/ },
  ];
  for (const c of cases) {
    // Every case writes to a file, to prove a failure never leaves one (whole or partial) behind.
    const output = c.argv.includes('--output') ? [] : ['--output', `${dir}/out.ndjson`];
    const res = await cli(['audit', 'export', ...c.argv, ...output], c.env ?? env);
    t.equal(res.code, c.code, `${c.argv.join(' ')}: exit ${c.code} (${res.err})`);
    t.match(res.err, c.message);
    t.equal(res.err.split('\n').length, 1, 'one line');
    t.notOk(res.err.includes('    at '), 'no stack trace');
  }
  t.same(readdirSync(dir), [], 'no output and no partial file after a failure');
});

t.test('--help', async (t) => {
  const res = await cli(['audit', 'export', '--help'], {});
  t.equal(res.code, 0);
  t.match(res.out, /^Usage: dab audit export/);
  t.match(res.out, /--db-user USER/);
});
