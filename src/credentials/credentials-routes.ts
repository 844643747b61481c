import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { noteGrantRequest } from '../http/access-log.js';
import { errorResponses } from '../http/route-helpers.js';
import { requestContext } from '../http/request-context.js';
import { CredentialsRequest, Grant } from './credentials-schema.js';
import type { GrantService } from './grant-service.js';

/** Caller tier: any authenticated principal may ask; its mappings decide. */
export const credentialsRoutes: FastifyPluginAsyncTypebox<{ service: GrantService }> = async (app, { service }) => {
  app.post('/v1/credentials', {
    schema: {
      operationId: 'createCredentials',
      tags: ['credentials'],
      security: [{ bearer: [] }],
      summary: 'Get a 15-minute RDS IAM auth token for your mapped DB user',
      description: 'The grant is written to the audit log before the token is returned. Unknown databases and missing mappings get the same 403.',
      body: CredentialsRequest,
      response: { 200: Grant, ...errorResponses(400, 401, 403, 429, 502, 503) },
    },
    // A control character anywhere in the request (token claims included) is refused before
    // validation, as everywhere; here the refusal is a denial like any other, so it is audited.
    config: { onUnsafeText: (request, found) => service.denyInvalidInput(callerOf(request), request.body, found, requestContext(request)) },
  }, async (request, reply) => {
    const noted = noteGrantRequest(request, request.body.database, request.body.access);
    const grant = await service.grant(callerOf(request), request.body, requestContext(request), noted);
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(grant);
  });
};
