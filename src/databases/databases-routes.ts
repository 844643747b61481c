import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { IfMatchHeaders, ifMatchVersion, setVersionTag } from '../http/etag.js';
import { errorResponses } from '../http/route-helpers.js';
import { requestContext } from '../http/request-context.js';
import { CreateDatabaseBody, Database, DatabaseInput, DatabaseName } from './database-schema.js';
import type { DatabasesService } from './databases-service.js';

const tags = ['databases'];
const security = [{ bearer: [] }];

/** DBA (admin tier) routes that register databases and their access levels. */
export const databasesRoutes: FastifyPluginAsyncTypebox<{ service: DatabasesService }> = async (app, { service }) => {
  app.post('/v1/databases', {
    schema: { operationId: 'createDatabase', tags, security, summary: 'Register a database', body: CreateDatabaseBody, response: { 201: Database, ...errorResponses(400, 401, 403, 409) } },
  }, async (request, reply) => {
    const created = await service.create(callerOf(request), requestContext(request), request.body);
    setVersionTag(reply, created.version);
    return reply.code(201).send(created);
  });

  app.get('/v1/databases', {
    schema: { operationId: 'listDatabases', tags, security, summary: 'List registered databases', response: { 200: Type.Object({ items: Type.Array(Database) }), ...errorResponses(401, 403) } },
  }, async () => ({ items: await service.list() }));

  app.get('/v1/databases/:name', {
    schema: { operationId: 'getDatabase', tags, security, summary: 'Get one database (ETag: its version)', params: DatabaseName, response: { 200: Database, ...errorResponses(400, 401, 403, 404) } },
  }, async (request, reply) => {
    const found = await service.get(request.params.name);
    setVersionTag(reply, found.version);
    return found;
  });

  app.put('/v1/databases/:name', {
    schema: { operationId: 'replaceDatabase', tags, security, summary: 'Replace a database registration (If-Match: the version you read)', params: DatabaseName, headers: IfMatchHeaders, body: DatabaseInput, response: { 200: Database, ...errorResponses(400, 401, 403, 404, 409, 412, 428) } },
  }, async (request, reply) => {
    const after = await service.replace(callerOf(request), requestContext(request), request.params.name, request.body, ifMatchVersion(request));
    setVersionTag(reply, after.version);
    return after;
  });

  app.delete('/v1/databases/:name', {
    schema: { operationId: 'deleteDatabase', tags, security, summary: 'Delete a database (refused while mappings name it; If-Match: the version you read)', params: DatabaseName, headers: IfMatchHeaders, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409, 412, 428) } },
  }, async (request, reply) => {
    await service.remove(callerOf(request), requestContext(request), request.params.name, ifMatchVersion(request));
    return reply.code(204).send(null);
  });
};
