import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { errorResponses } from '../http/route-helpers.js';
import { requestContext } from '../http/request-context.js';
import { Mapping, MappingFilter, MappingId, MappingInput } from './mapping-schema.js';
import type { MappingsService } from './mappings-service.js';

const tags = ['mappings'];
const security = [{ bearer: [] }];

/** DBA (admin tier) routes for caller → database → access level mappings. */
export const mappingsRoutes: FastifyPluginAsyncTypebox<{ service: MappingsService }> = async (app, { service }) => {
  app.post('/v1/mappings', {
    schema: { operationId: 'createMapping', tags, security, summary: 'Map a principal to access levels on a database', body: MappingInput, response: { 201: Mapping, ...errorResponses(400, 401, 403) } },
  }, async (request, reply) => reply.code(201).send(await service.create(callerOf(request), requestContext(request), request.body)));

  app.get('/v1/mappings', {
    schema: { operationId: 'listMappings', tags, security, summary: 'List mappings, optionally filtered', querystring: MappingFilter, response: { 200: Type.Object({ items: Type.Array(Mapping) }), ...errorResponses(400, 401, 403) } },
  }, async (request) => ({ items: await service.list(request.query) }));

  app.get('/v1/mappings/:id', {
    schema: { operationId: 'getMapping', tags, security, summary: 'Get one mapping', params: MappingId, response: { 200: Mapping, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => service.get(request.params.id));

  app.put('/v1/mappings/:id', {
    schema: { operationId: 'replaceMapping', tags, security, summary: 'Replace a mapping', params: MappingId, body: MappingInput, response: { 200: Mapping, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => service.replace(callerOf(request), requestContext(request), request.params.id, request.body));

  app.delete('/v1/mappings/:id', {
    schema: { operationId: 'deleteMapping', tags, security, summary: 'Delete a mapping', params: MappingId, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) } },
  }, async (request, reply) => {
    await service.remove(callerOf(request), requestContext(request), request.params.id);
    return reply.code(204).send(null);
  });
};
