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

t.test('the contract says what the code does beyond the schemas: headers, probes, descriptions, examples', async (t) => {
  const doc = parse(await renderOpenApi());
  const probes = new Set(['healthz', 'readyz', 'metrics']);
  // Public too: what an AWS caller needs to build a proof (the server id binds, it is no secret).
  const unauthenticated = new Set([...probes, 'awsAuthInfo']);
  t.ok(doc.servers?.length, 'servers is declared');
  for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const op of Object.values(operations)) {
      const id = op.operationId as string;
      if (unauthenticated.has(id)) t.same(op.security, [], `${id} is declared public`);
      else t.ok(op.security?.length, `${id} requires a bearer token`);
      const statuses = Object.keys(op.responses);
      if (!probes.has(id)) t.ok(statuses.some((s) => s.startsWith('4')), `${id} documents its 4xx answers`);
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        t.ok(response.headers?.['x-request-id'], `${id} ${status} declares x-request-id`);
        t.not(response.description, 'Default Response', `${id} ${status} has a real description`);
        if (Number(status) >= 400) t.ok(response.headers['cache-control'], `${id} ${status} declares Cache-Control`);
        if (status === '503') t.ok(response.headers['retry-after'], `${id} 503 declares Retry-After`);
        if (status.startsWith('2') && response.content) {
          for (const [mediaType, content] of Object.entries(response.content as Record<string, any>)) {
            t.not(content.example, undefined, `${id} ${status} ${mediaType} has an example`);
          }
        }
      }
      const body = op.requestBody?.content?.['application/json'];
      if (body) t.not(body.example, undefined, `${id} has a request example`);
      if (/^(get|create|replace)(Database|Mapping)$/.test(id)) {
        const ok = Object.entries(op.responses as Record<string, any>).find(([s]) => s.startsWith('2'))?.[1];
        t.ok(ok?.headers?.etag, `${id} declares its ETag (${path})`);
      }
    }
  }
});
