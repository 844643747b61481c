import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { renderOpenApi } from '../../scripts/openapi-document.js';

t.test('openapi.yaml is generated from the route schemas and has not drifted', async (t) => {
  const rendered = await renderOpenApi();
  const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');
  t.equal(committed, rendered, 'openapi.yaml is stale: run npm run openapi and commit it');
});

t.test('every operation has an operationId, tags, and documented error responses', async (t) => {
  const doc = parse(await renderOpenApi());
  const operations = Object.values(doc.paths as Record<string, Record<string, any>>).flatMap((p) => Object.values(p));
  t.ok(operations.length >= 12);
  for (const op of operations) {
    t.type(op.operationId, 'string');
    t.ok(op.tags?.length, `${op.operationId} has tags`);
    t.ok(Object.keys(op.responses).some((s) => s.startsWith('2')), `${op.operationId} documents success`);
  }
  t.ok(doc.components.schemas.Problem, 'Problem schema is a component');
});
