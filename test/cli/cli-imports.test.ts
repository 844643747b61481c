import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { startHarness } from '../support/harness.js';

// The CLI answers at once only if each command loads what it needs and nothing else. This holds
// the import graph to that without timing anything: a child process runs the CLI with a resolve
// hook that logs every module it loads, and the test reads the log.

const FORBIDDEN: Array<[what: string, pattern: RegExp]> = [
  ['fastify', /\/node_modules\/(fastify|@fastify)\//],
  ['the embedded store (PGlite)', /\/node_modules\/@electric-sql\/pglite\//],
  ['the AWS SDK', /\/node_modules\/(@aws-sdk|@smithy)\//],
  ['pg', /\/node_modules\/pg\//],
  ['Ajv', /\/node_modules\/ajv\//],
  ['the server', /\/src\/(server|app)\.ts$/],
  ['the sandbox', /\/src\/sandbox\//],
  ['the store', /\/src\/store\//],
  ['the config loader', /\/src\/config\//],
  ['typebox', /\/node_modules\/typebox\//],
  ['database clients (mysql2, redis)', /\/node_modules\/(mysql2|redis|@redis)\//],
  ['the engine modules (only their client formats)', /\/src\/engines\/(registry|registration|[a-z-]+\/[a-z-]+-engine|[a-z-]+\/login-[a-z]+)\.ts$/],
];

// Logs each resolved module URL to the file in DAB_IMPORT_LOG (the hook runs on the loader thread).
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const found = await next(specifier, context);
  appendFileSync(process.env.DAB_IMPORT_LOG, found.url + '\\n');
  return found;
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;
const RUN_CLI = new URL('../../src/cli/run-cli.ts', import.meta.url).href;
const CHILD = `const { runCli } = await import(${JSON.stringify(RUN_CLI)});
process.exitCode = await runCli(JSON.parse(process.env.DAB_ARGV), { out: (s) => process.stdout.write(s + '\\n'), err: (s) => process.stderr.write(s + '\\n'), env: process.env });`;
// Only the TypeScript loader tap uses, so the child runs src/*.ts as the tests do.
const tsLoader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));

async function modulesLoadedBy(t: Test, argv: string[], env: Record<string, string> = {}) {
  const log = `${t.testdir()}/imports.log`;
  // A command that fails (exit code ≠ 0) still leaves its log: its output is on the error.
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [...tsLoader, '--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', CHILD],
    { env: { ...process.env, NODE_OPTIONS: '', DAB_IMPORT_LOG: log, DAB_ARGV: JSON.stringify(argv), ...env } },
  ).catch((err: { stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr }));
  return { stdout, stderr, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

function assertLean(t: Test, modules: string[]) {
  t.ok(modules.some((m) => m.endsWith('/src/cli/run-cli.ts')), 'the hook saw the CLI load');
  for (const [what, pattern] of FORBIDDEN) {
    const loaded = modules.filter((m) => pattern.test(m));
    t.same(loaded, [], `does not load ${what}`);
  }
}

const h = await startHarness(t);
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const token = await h.token('app-orders');

for (const argv of [['--help'], ['--version'], ['creds', '--help'], ['access', '--help'], ['request', '--help'], ['requests', '--help'], ['audit', 'export', '--help'], ['serve', '--help'], ['migrate', '--help'], ['sandbox', '--help'], ['start', '--help']]) {
  t.test(`dab ${argv.join(' ')} loads only what it needs`, async (t) => {
    const { stdout, modules } = await modulesLoadedBy(t, argv);
    t.match(stdout, argv[0] === '--version' ? /^dab \d+\.\d+\.\d+/ : /Usage: dab/);
    assertLean(t, modules);
  });
}

t.test('dab creds, a real call to dab, loads neither server, sandbox, store nor AWS SDK', async (t) => {
  const { stdout, modules } = await modulesLoadedBy(t, ['creds', 'orders', '--access', 'ro', '--format', 'token'], { DAB_URL: url, DAB_TOKEN: token });
  t.match(stdout, /^orders\.cluster.*X-Amz-Signature=[0-9a-f]{64}/, 'it got a token');
  assertLean(t, modules);
  t.ok(modules.some((m) => m.endsWith('/src/cli/creds-command.ts')), 'it loaded the creds command');
  t.notOk(modules.some((m) => /\/src\/cli\/(admin|audit|sandbox|server)-/.test(m)), 'and no other command');
});

t.test('dab requests list, a real call to dab, loads only its command', async (t) => {
  const { stdout, modules } = await modulesLoadedBy(t, ['requests', 'list'], { DAB_URL: url, DAB_TOKEN: token });
  t.match(stdout, /^no access requests match/, 'it asked dab');
  assertLean(t, modules);
  t.ok(modules.some((m) => m.endsWith('/src/cli/request-commands.ts')));
});

t.test('the hook does see heavy modules (the test can fail)', async (t) => {
  // A real run of a server command: it loads the server before the config refuses the URL.
  const { stderr, modules } = await modulesLoadedBy(t, ['migrate'], { DATABASE_URL: 'mysql://127.0.0.1/none', DAB_CONFIG: '' });
  t.match(stderr, /^dab: .*store\.url/m, 'the config was refused');
  t.ok(modules.some((m) => /\/src\/server\.ts$/.test(m)), 'dab migrate loads the server');
  t.ok(modules.some((m) => /\/src\/cli\/server-commands\.ts$/.test(m)), 'and its command module');
});
