import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the console serves: its bytes and media type, read once at start-up. */
export interface ConsoleAsset {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

// Beside this module: src/console/public under tsc-free test runs, dist/src/console/public after
// `npm run build` (scripts/copy-assets.mjs copies the folder).
const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

/**
 * The console's files, keyed by their path under /console/. Only these names are ever served, so a
 * request path is a map lookup, never a file-system path (no traversal to worry about). The two
 * front-end libraries come straight from their npm packages: the same bytes npm installed, no
 * bundler, no CDN.
 */
export function loadConsoleAssets(): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  const add = (name: string, file: string) => {
    // By the served name: htm ships its ES module as .mjs, served as .js.
    const type = TYPES[path.extname(name)];
    if (type) assets.set(name, { body: readFileSync(file), type });
  };
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir)) {
      const file = path.join(dir, entry);
      if (statSync(file).isDirectory()) walk(file, `${prefix}${entry}/`);
      else add(`${prefix}${entry}`, file);
    }
  };
  walk(PUBLIC_DIR, '');
  // htm's standalone build is Preact + hooks + htm in one ES module (htm's exports hide the file: resolve beside its main).
  const require = createRequire(import.meta.url);
  add('vendor/htm-preact.js', path.join(path.dirname(require.resolve('htm')), '..', 'preact', 'standalone.mjs'));
  add('vendor/oauth4webapi.js', require.resolve('oauth4webapi'));
  // yaml (already dab's parser) ships a browser build of plain ES modules: the dry-run page reads access.yaml with it.
  walk(path.join(path.dirname(require.resolve('yaml')), '..', 'browser', 'dist'), 'vendor/yaml/');
  return assets;
}
