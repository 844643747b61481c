// Builds db-access-broker-client: the HTTP client and pg helper alone (no server, no AWS SDK), as
// a tarball an application can `npm install ./db-access-broker-client-X.tgz`. Prints its path.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'src/client/tsconfig.json')], { stdio: 'inherit' });

const stage = join(root, 'dist/client-package');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
cpSync(join(root, 'dist/client'), join(stage, 'dist'), { recursive: true });
writeFileSync(
  join(stage, 'package.json'),
  `${JSON.stringify(
    {
      name: 'db-access-broker-client',
      version: main.version,
      description: 'Client for dab, the database access broker: short-lived IAM database credentials over HTTP, a password function for pg, and a config helper for mysql2',
      license: main.license,
      type: 'module',
      engines: main.engines,
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      types: './dist/index.d.ts',
      files: ['dist'],
      // No dependencies: it speaks HTTP with Node's own fetch. pg and mysql2 are only what the helpers are for.
      peerDependencies: { pg: '>=8', mysql2: '>=3.22' },
      peerDependenciesMeta: { pg: { optional: true }, mysql2: { optional: true } },
    },
    null,
    2,
  )}\n`,
);
writeFileSync(join(stage, 'README.md'), '# db-access-broker-client\n\nSee "The Node helper for `pg`" in dab\'s README.\n');
const out = execFileSync('npm', ['pack', '--json', '--pack-destination', join(root, 'dist')], { cwd: stage, encoding: 'utf8' });
console.log(join(root, 'dist', JSON.parse(out)[0].filename));
