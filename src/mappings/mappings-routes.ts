import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { IfMatchHeaders, ifMatchVersion, setVersionTag } from '../http/etag.js';
import { errorResponses } from '../http/route-helpers.js';
import { requestContext } from '../http/request-context.js';
import { Mapping, MappingFilter, MappingInput, MappingRef } from './mapping-schema.js';
import type { MappingsService } from './mappings-service.js';

const tags = ['mappings'];
const security = [{ bearer: [] }];

/** DBA (admin tier) routes for principal → database(s) → access level mappings. */
export const mappingsRoutes: FastifyPluginAsyncTypebox<{ service: MappingsService }> = async (app, { service }) => {
  app.post('/v1/mappings', {
    schema: { operationId: 'createMapping', tags, security, summary: 'Map a principal to access levels on a database (or on databases selected by labels)', body: MappingInput, response: { 201: Mapping, ...errorResponses(400, 401, 403, 409) } },
  }, async (request, reply) => {
    const created = await service.create(callerOf(request), requestContext(request), request.body);
    setVersionTag(reply, created.version);
    return reply.code(201).send(created);
  });

  app.get('/v1/mappings', {
    schema: { operationId: 'listMappings', tags, security, summary: 'List mappings, optionally filtered', querystring: MappingFilter, response: { 200: Type.Object({ items: Type.Array(Mapping) }), ...errorResponses(400, 401, 403) } },
  }, async (request) => ({ items: await service.list(request.query) }));

  app.get('/v1/mappings/:ref', {
    schema: { operationId: 'getMapping', tags, security, summary: 'Get one mapping by id or name (ETag: its version)', params: MappingRef, response: { 200: Mapping, ...errorResponses(400, 401, 403, 404) } },
  }, async (request, reply) => {
    const found = await service.get(request.params.ref);
    setVersionTag(reply, found.version);
    return found;
  });

  app.put('/v1/mappings/:ref', {
    schema: { operationId: 'replaceMapping', tags, security, summary: 'Replace a mapping (If-Match: the version you read)', params: MappingRef, headers: IfMatchHeaders, body: MappingInput, response: { 200: Mapping, ...errorResponses(400, 401, 403, 404, 409, 412, 428) } },
  }, async (request, reply) => {
    const after = await service.replace(callerOf(request), requestContext(request), request.params.ref, request.body, ifMatchVersion(request));
    setVersionTag(reply, after.version);
    return after;
  });

  app.delete('/v1/mappings/:ref', {
    schema: { operationId: 'deleteMapping', tags, security, summary: 'Delete a mapping (If-Match: the version you read)', params: MappingRef, headers: IfMatchHeaders, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 412, 428) } },
  }, async (request, reply) => {
    await service.remove(callerOf(request), requestContext(request), request.params.ref, ifMatchVersion(request));
    return reply.code(204).send(null);
  });
};
