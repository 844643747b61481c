import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { setVersionTag } from '../http/etag.js';
import { errorResponses } from '../http/route-helpers.js';
import { requestContext } from '../http/request-context.js';
import { AccessRequest, AccessRequestList, ApproveBody, CancelBody, CreateAccessRequest, DenyBody, ListQuery, RequestableList, RequestRef, ReviewBody, RevokeBody } from './access-request-schema.js';
import type { AccessRequestsService } from './access-requests-service.js';
import type { AccessRequest as AccessRequestJson } from './access-request-schema.js';

const tags = ['access-requests'];
const security = [{ bearer: [] }];

/**
 * Just-in-time access (caller tier: requesters and approvers are callers; who may do what is the
 * request policy's to say). Every answer carries the request's version as its ETag.
 */
export const accessRequestsRoutes: FastifyPluginAsyncTypebox<{ service: AccessRequestsService }> = async (app, { service }) => {
  app.post('/v1/access-requests', {
    schema: {
      operationId: 'createAccessRequest', tags, security,
      summary: 'Request a level on a database for a while (breakGlass: take it at once, where policy allows)',
      description: 'Pending until an approver of the policy approves (naming the version read), denies, or it times out; the requester may cancel. Break-glass opens the window at once, is loud on the webhooks and stays unreviewed until an approver reviews it. Refused: request_not_allowed (no policy, unknown database or level, alike), duration_too_long, break_glass_not_allowed, access_already_held (409), an identical request pending (409), too many requests (429).',
      body: CreateAccessRequest, response: { 201: AccessRequest, ...errorResponses(400, 401, 403, 409) },
    },
  }, async (request, reply) => {
    const created = await service.create(callerOf(request), requestContext(request), request.body);
    setVersionTag(reply, created.version);
    return reply.code(201).send(created);
  });

  app.get('/v1/access-requests', {
    schema: {
      operationId: 'listAccessRequests', tags, security,
      summary: 'Requests you made or may approve (DBAs and auditors: all), newest first',
      description: 'Auditors list unreviewed break-glass uses with ?breakGlass=true&review=unreviewed; approvers what awaits them with ?approvable=true&state=pending.',
      querystring: ListQuery, response: { 200: AccessRequestList, ...errorResponses(400, 401) },
    },
  }, async (request) => service.list(callerOf(request), request.query));

  app.get('/v1/access-requests/requestable', {
    schema: {
      operationId: 'listRequestable', tags, security,
      summary: 'What you may request: each database and level a request policy lets you ask for, with its limits',
      description: 'Only what a policy names you for (nothing else is listed, so it enumerates no databases). breakGlassMaxDurationSeconds is present where break-glass is allowed.',
      response: { 200: RequestableList, ...errorResponses(401) },
    },
  }, async (request) => service.requestable(callerOf(request)));

  app.get('/v1/access-requests/:id', {
    schema: { operationId: 'getAccessRequest', tags, security, summary: 'One request (ETag: its version)', params: RequestRef, response: { 200: AccessRequest, ...errorResponses(400, 401, 404) } },
  }, async (request, reply) => {
    const found = await service.get(callerOf(request), request.params.id);
    setVersionTag(reply, found.version);
    return found;
  });

  const step = <B>(name: string, operationId: string, summary: string, body: B, run: (s: AccessRequestsService) => AccessRequestsService['approve'] | AccessRequestsService['deny'] | AccessRequestsService['cancel'] | AccessRequestsService['revoke'] | AccessRequestsService['review']) => {
    app.post(`/v1/access-requests/:id/${name}`, {
      schema: { operationId, tags, security, summary, params: RequestRef, body: body as never, response: { 200: AccessRequest, ...errorResponses(400, 401, 403, 404, 409) } },
    }, async (request, reply) => {
      const fn = run(service) as (c: ReturnType<typeof callerOf>, ctx: ReturnType<typeof requestContext>, id: string, b: unknown) => Promise<AccessRequestJson>;
      const after = await fn(callerOf(request), requestContext(request), (request.params as { id: string }).id, request.body);
      setVersionTag(reply, after.version);
      return after;
    });
  };
  step('approve', 'approveAccessRequest', 'Approve a pending request, naming the version you read (never your own)', ApproveBody, (s) => s.approve);
  step('deny', 'denyAccessRequest', 'Deny a pending request, naming the version you read', DenyBody, (s) => s.deny);
  step('cancel', 'cancelAccessRequest', 'Withdraw your pending request, or give an active window back early', CancelBody, (s) => s.cancel);
  step('revoke', 'revokeAccessRequest', 'End an active window now (approvers of its policy, or DBAs)', RevokeBody, (s) => s.revoke);
  step('review', 'reviewAccessRequest', 'Review a break-glass use after the fact, naming the version you read', ReviewBody, (s) => s.review);
};
