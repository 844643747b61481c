// tsc compiles TypeScript only; the SQL migrations ship beside the compiled store module, and the
// web console's static files (plain ES modules, HTML, CSS) beside the compiled console plugin.
import { cpSync } from 'node:fs';

cpSync('src/store/migrations', 'dist/src/store/migrations', { recursive: true, filter: (src) => !src.endsWith('.ts') });
cpSync('src/console/public', 'dist/src/console/public', { recursive: true });
