import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export function openApiOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'dab — database access broker',
        version: '1',
        description:
          'Short-lived Amazon RDS IAM auth tokens for mapped callers. Every grant and denial is recorded in an append-only audit log before the answer leaves. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      tags: [
        { name: 'credentials', description: 'Callers: get database credentials' },
        { name: 'databases', description: 'DBAs: registered databases and their access levels' },
        { name: 'mappings', description: 'DBAs: who may get which access level on which database' },
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'audit', description: 'Auditors: query, look up, export and verify the audit log' },
      ],
    },
    // Shared schemas keep their $id as their component name (Problem, Grant, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  };
}

/** The OpenAPI document of a built app, as committed in openapi.yaml. */
export async function openApiYaml(app: FastifyInstance): Promise<string> {
  await app.ready();
  return app.swagger({ yaml: true });
}
