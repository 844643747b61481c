import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { decorateOpenApi } from './openapi-decorate.js';

export function openApiOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'dab — database access broker',
        version: '1',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        description:
          'Short-lived Amazon RDS IAM auth tokens for mapped callers. Every grant and denial is recorded in an append-only audit log before the answer leaves. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      // dab runs wherever it is deployed; this is where `dab serve` listens by default (listen.host/port).
      servers: [{ url: 'http://127.0.0.1:8080', description: 'A local dab at its default listen address; in production, your deployment\'s HTTPS URL' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT from an issuer in auth.issuers' },
          awsProof: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'dab-aws-v1',
            description:
              'An AWS IAM identity (auth.aws): "dab-aws-v1." + base64url of an STS GetCallerIdentity URL presigned (SigV4 query) with X-Amz-SignedHeaders=host;x-dab-server-id and the server id of GET /v1/auth/aws. Accepted on the tiers auth.aws.tiers names (default: caller routes).',
          },
        },
      },
      tags: [
        { name: 'credentials', description: 'Callers: get database credentials' },
        { name: 'databases', description: 'DBAs: registered databases and their access levels' },
        { name: 'mappings', description: 'DBAs: who may get which access level on which database' },
        { name: 'access-requests', description: 'Just-in-time access: request a level for a while, approve, deny, revoke; break-glass and its review' },
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'auth', description: 'How callers authenticate: JWTs, or AWS IAM proofs' },
        { name: 'audit', description: 'Auditors: query, look up, export and verify the audit log' },
      ],
    },
    transformObject: (document) => decorateOpenApi('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    // Shared schemas keep their $id as their component name (Problem, Grant, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  };
}

/** The OpenAPI document of a built app, as committed in openapi.yaml. */
export async function openApiYaml(app: FastifyInstance): Promise<string> {
  await app.ready();
  return app.swagger({ yaml: true });
}
