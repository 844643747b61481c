import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { errorResponses } from '../http/route-helpers.js';
import { requestContext } from '../http/request-context.js';
import { AccessDocument, ApplyRequest, ChangesRequest, PlanResult } from './admin-schema.js';
import type { AdminService } from './admin-service.js';

const tags = ['admin'];
const security = [{ bearer: [] }];
// A whole estate's access file can be larger than a single request's usual 1 MiB.
const DOCUMENT_LIMIT = 32 * 1024 * 1024;

/** DBA (admin tier): declarative apply, batched changes and export, each one transaction. */
export const adminRoutes: FastifyPluginAsyncTypebox<{ service: AdminService }> = async (app, { service }) => {
  app.post('/v1/admin/apply', {
    bodyLimit: DOCUMENT_LIMIT,
    schema: {
      operationId: 'applyAccessDocument', tags, security,
      summary: 'Make databases and mappings what the document declares (dry-run: report only)',
      description: 'One transaction: nothing is half-applied. Matches declarations by name; prune deletes what is not declared. The answer lists the changes and who gains or loses access. Every problem of the document comes back in one answer (at most 100), each errors[].field a document path (body.document.mappings.2.selector): 409 when all are conflicts with the store, else 400.',
      body: ApplyRequest, response: { 200: PlanResult, ...errorResponses(400, 401, 403, 404, 409, 413) },
    },
  }, async (request) => service.apply(callerOf(request), requestContext(request), request.body));

  app.post('/v1/admin/changes', {
    bodyLimit: DOCUMENT_LIMIT,
    schema: {
      operationId: 'applyChanges', tags, security,
      summary: 'Run put/delete operations in order, in one transaction (dry-run: report only)',
      body: ChangesRequest, response: { 200: PlanResult, ...errorResponses(400, 401, 403, 404, 409, 412, 413) },
    },
  }, async (request) => service.changes(callerOf(request), requestContext(request), request.body));

  app.get('/v1/admin/export', {
    schema: { operationId: 'exportAccessDocument', tags, security, summary: "Today's databases and mappings, in the format apply reads", response: { 200: AccessDocument, ...errorResponses(401, 403) } },
  }, async () => service.export());
};
