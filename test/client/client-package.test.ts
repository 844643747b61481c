import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

// An application installs db-access-broker-client alone: from the tarball, offline (it has no
// dependencies), and README's TypeScript example type-checks against its declarations.

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const repoModules = join(root, 'node_modules');
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

const { stdout } = await run(process.execPath, [join(root, 'scripts/pack-client.mjs')], { cwd: root });
const tarball = stdout.trim().split('\n').at(-1) as string;

/** README's ```ts block under a heading. */
function readmeExample(heading = '## The Node helper for `pg`'): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`README has no TypeScript example in "${heading}"`);
  return block;
}

t.test('the tarball holds the client and its declarations, and depends on nothing', async (t) => {
  const { stdout: list } = await run('tar', ['tzf', tarball]);
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/pg-password.d.ts', 'package/package.json']) t.ok(list.includes(f), f);
  t.notMatch(list, /server|sandbox|store|aws/, 'nothing of the server');
  const { stdout: pkgText } = await run('tar', ['xzf', tarball, '-O', 'package/package.json']);
  const pkg = JSON.parse(pkgText) as Record<string, unknown>;
  t.equal(pkg.name, 'db-access-broker-client');
  t.notOk(pkg.dependencies, 'no dependencies');
  t.same(pkg.peerDependenciesMeta, { pg: { optional: true }, mysql2: { optional: true } }, 'pg and mysql2 are optional peers');
});

t.test('an application installs it offline, imports it, and README\'s example type-checks', async (t) => {
  const app = t.testdir({ 'package.json': JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, type: 'module' }) });
  const cache = join(app, '.npm-cache');
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', cache, tarball], { cwd: app });

  const { stdout: exported } = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('db-access-broker-client'); console.log(Object.keys(m).sort().join(' '))"], { cwd: app });
  t.equal(exported.trim(), 'DabProblemError DabUnreachableError dabMysqlConfig dabPassword dabPgConfig dabRedisCredentials dabRedisOptions requestCredentials');

  // pg and the Node types are the application's own; borrow the repo's rather than download them.
  mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
  for (const dep of ['pg', 'pg-types', 'pg-protocol', '@types/pg', '@types/node', 'undici-types', 'redis', '@redis']) {
    try {
      symlinkSync(join(repoModules, dep), join(app, 'node_modules', dep));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  writeFileSync(join(app, 'app.ts'), readmeExample());
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], skipLibCheck: true }, files: ['app.ts'] }),
  );
  const checked = await run(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')], { cwd: app }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  t.equal(checked, '', 'README example compiles against the installed package');
  // The Redis helper's example: its options go straight into node-redis's createClient.
  writeFileSync(join(app, 'app.ts'), readmeExample('## The Node helper for Redis'));
  const redisChecked = await run(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')], { cwd: app }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  t.equal(redisChecked, '', "README's Redis example compiles against the package and node-redis's own types");

  // The check is real: a wrong call is a type error.
  writeFileSync(join(app, 'app.ts'), `import { dabPgConfig } from 'db-access-broker-client';\nawait dabPgConfig({ url: 'x', bearer: 'y', database: 'orders', access: 'admin' });\n`);
  const wrong = await run(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')], { cwd: app }).then(() => '', (err: { stdout?: string }) => err.stdout ?? '');
  t.match(wrong, /app\.ts\(2,\d+\): error TS2322/, 'access: "admin" is rejected by the declarations');
});
