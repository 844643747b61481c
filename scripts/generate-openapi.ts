import { writeFileSync } from 'node:fs';
import { renderOpenApi } from './openapi-document.js';

writeFileSync('openapi.yaml', await renderOpenApi());
console.log('wrote openapi.yaml');
