// tsc compiles TypeScript only; the SQL migrations ship beside the compiled store module.
import { cpSync } from 'node:fs';

cpSync('src/store/migrations', 'dist/src/store/migrations', { recursive: true, filter: (src) => !src.endsWith('.ts') });
