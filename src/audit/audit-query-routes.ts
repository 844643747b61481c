import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/route-helpers.js';
import { EXPORT_CONTENT_TYPES } from './audit-export-format.js';
import { EventsPage, EventsQuery, ExportQuery, HoldersPage, HoldersQuery, LookupRequest, LookupResult, MAX_PAGE_LIMIT, NoQuery } from './audit-query-schema.js';
import type { AuditQueryService } from './audit-query-service.js';

const tags = ['audit'];
const security = [{ bearer: [] }];

/** Auditor tier: read-only views of the audit log. Nothing here (or anywhere) changes the log. */
export const auditQueryRoutes: FastifyPluginAsyncTypebox<{ service: AuditQueryService }> = async (app, { service }) => {
  // Audit data is sensitive and changes constantly: no shared or browser caches.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/v1/audit/events', {
    schema: {
      operationId: 'listAuditEvents',
      tags,
      security,
      summary: 'Query the audit log',
      description: `Filters combine with AND. Ordered by (occurredAt, id), newest first unless order=asc. Keyset pagination: pass nextCursor as cursor with the same filters and order; pages are stable while new events arrive (no row is repeated or skipped). limit is 1–${MAX_PAGE_LIMIT}; a larger value is a 400.`,
      querystring: EventsQuery,
      response: { 200: EventsPage, ...errorResponses(400, 401, 403, 503) },
    },
  }, async (request) => service.events(request.query));

  app.get('/v1/audit/holders', {
    schema: {
      operationId: 'listHolders',
      tags,
      security,
      summary: 'Who held a DB user at an instant',
      description: 'Issued grants for the database and DB user whose validity [occurredAt, expiresAt) covers `at`, oldest first, each with the caller (actor), their stated reason, and the mapping that allowed it: as recorded by its latest mapping.created/updated event at or before the grant, and as it is now (null once deleted). A token is checked only when connecting, so a session opened with it may last longer.',
      querystring: HoldersQuery,
      response: { 200: HoldersPage, ...errorResponses(400, 401, 403, 503) },
    },
  }, async (request) => service.holders(request.query));

  app.post('/v1/audit/lookup', {
    schema: {
      operationId: 'lookupGrant',
      tags,
      security,
      summary: 'Find the grant a token (or an STS access key id) came from',
      description: 'With token: the grants whose stored HMAC fingerprint matches it (the token itself is never stored or logged; send it in the body, never in a URL). With accessKeyId: the events signed with that STS session, to join CloudTrail.',
      querystring: NoQuery,
      body: LookupRequest,
      response: { 200: LookupResult, ...errorResponses(400, 401, 403, 503) },
    },
  }, async (request) => service.lookup(request.body));

  app.get('/v1/audit/export', {
    schema: {
      operationId: 'exportAuditEvents',
      tags,
      security,
      summary: 'Stream every matching event as NDJSON or CSV',
      description: 'Same filters as listAuditEvents, oldest first unless order=desc, no limit. Streamed in keyset batches with flat memory; ends at the newest event that existed when the export started. CSV is RFC 4180 with a header row; cells starting with = + - @ tab or CR are prefixed with \' against formula injection. A stream cut short by a fault ends without the final chunk, so clients see an error, not a short file.',
      querystring: ExportQuery,
      response: {
        200: {
          description: 'The events, one per line (NDJSON) or row (CSV)',
          content: { 'application/x-ndjson': { schema: Type.String() }, 'text/csv': { schema: Type.String() } },
        },
        ...errorResponses(400, 401, 403, 503),
      },
    },
  }, async (request, reply) => {
    const { format, stream } = await service.export(request.query);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return reply
      .header('content-type', EXPORT_CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="dab-audit-${stamp}.${format}"`)
      .header('x-content-type-options', 'nosniff')
      // The documented 200 is text; Fastify sends a stream as-is (no serializer), which the type provider cannot express.
      .send(stream as unknown as string);
  });
};
