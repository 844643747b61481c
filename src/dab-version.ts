import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** package.json's version, found by walking up from this file (src/ or dist/src/). */
export function dabVersion(): string {
  if (cached) return cached;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'db-access-broker' && pkg.version) return (cached = pkg.version);
    } catch {
      // No package.json here (or not ours): keep walking up.
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
