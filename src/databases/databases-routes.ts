import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../auth/auth-hooks.js';
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
  }, async (request, reply) => reply.code(201).send(await service.create(callerOf(request), requestContext(request), request.body)));

  app.get('/v1/databases', {
    schema: { operationId: 'listDatabases', tags, security, summary: 'List registered databases', response: { 200: Type.Object({ items: Type.Array(Database) }), ...errorResponses(401, 403) } },
  }, async () => ({ items: await service.list() }));

  app.get('/v1/databases/:name', {
    schema: { operationId: 'getDatabase', tags, security, summary: 'Get one database', params: DatabaseName, response: { 200: Database, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => service.get(request.params.name));

  app.put('/v1/databases/:name', {
    schema: { operationId: 'replaceDatabase', tags, security, summary: 'Replace a database registration', params: DatabaseName, body: DatabaseInput, response: { 200: Database, ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => service.replace(callerOf(request), requestContext(request), request.params.name, request.body));

  app.delete('/v1/databases/:name', {
    schema: { operationId: 'deleteDatabase', tags, security, summary: 'Delete a database (refused while mappings use it)', params: DatabaseName, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) } },
  }, async (request, reply) => {
    await service.remove(callerOf(request), requestContext(request), request.params.name);
    return reply.code(204).send(null);
  });
};
