import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerOf } from '../auth/auth-hooks.js';
import { AWS_ISSUER, callerForAwsArn } from '../auth/aws-principal.js';
import type { Caller } from '../auth/caller.js';
import { errorResponses } from '../http/route-helpers.js';
import type { AccessModelCache } from './access-model-cache.js';
import { ExplainRequest, Explanation, MyAccess } from './access-schema.js';
import type { OpenRequest } from '../access-requests/access-request-schema.js';
import { effectiveAccess, explainAccess, type Decision } from './decide-access.js';

interface AccessRoutesOptions {
  access: AccessModelCache;
  now: () => Date;
}

const tags = ['access'];
const security = [{ bearer: [] }];

/** DBA (admin tier): why would this principal be allowed or refused? Same logic as the grant path. */
export const accessRoutes: FastifyPluginAsyncTypebox<AccessRoutesOptions> = async (app, { access, now }) => {
  app.post('/v1/access/explain', {
    schema: { operationId: 'explainAccess', tags, security, summary: 'Explain the decision for a principal, database and level', body: ExplainRequest, response: { 200: Explanation, ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { principal, database, access: level, reason, at } = request.body;
    const when = at ? new Date(at) : now();
    // An AWS caller is named by its role or user ARN (issuer "aws"); its account follows from it.
    const caller: Caller = principal.issuer === AWS_ISSUER
      ? callerForAwsArn(principal.subject)
      : { issuer: principal.issuer, subject: principal.subject, groups: principal.groups ?? [], claims: principal.claims ?? {} };
    const model = await access.current();
    const { decision, considered } = explainAccess({ caller, level, database, reason, model, now: when });
    const rule = decision.rule ? considered.find((c) => c.mapping.id === decision.rule)?.mapping : undefined;
    const requestPart = requestOf(decision, model.openRequests(caller));
    return {
      at: when.toISOString(),
      allowed: decision.allowed,
      reason: decision.allowed ? (decision.accessRequest ? 'request_window_allows' : 'mapping_allows') : decision.reason,
      summary: summarise(decision, rule?.name, requestPart),
      ...(requestPart ? { accessRequest: requestPart } : {}),
      rule: rule ? { id: rule.id, name: rule.name } : null,
      ...(decision.allowed ? { dbUser: decision.dbUser, roleArn: decision.roleArn } : {}),
      considered: considered.map(({ mapping: { version: _v, createdAt: _c, updatedAt: _u, ...m }, verdict }) => ({ ...m, verdict })),
    };
  });
};

interface RequestPart {
  id: string;
  state: 'active' | 'pending';
  approvedBy: string[];
  until: string;
  breakGlass: boolean;
}

/** The access request behind a decision: the window that allowed it, or the request still pending. */
function requestOf(decision: Decision, open: readonly OpenRequest[]): RequestPart | undefined {
  if (decision.allowed && decision.accessRequest) {
    const { id, approvedBy, endsAt, breakGlass } = decision.accessRequest;
    return { id, state: 'active', approvedBy, until: endsAt, breakGlass };
  }
  if (!decision.allowed && decision.reason === 'request_pending' && decision.rule) {
    const r = open.find((o) => `request:${o.id}` === decision.rule);
    if (r) return { id: r.id, state: 'pending', approvedBy: r.approvedBy, until: new Date(r.pendingUntil).toISOString(), breakGlass: false };
  }
  return undefined;
}

function summarise(decision: Decision, mappingName: string | undefined, r: RequestPart | undefined): string {
  if (r?.state === 'active') {
    const by = r.breakGlass ? 'break-glass (no approval; unreviewed until an approver reviews it)' : `approved by ${r.approvedBy.join(', ')}`;
    return `allowed by request ${r.id} ${by} until ${r.until}`;
  }
  if (r?.state === 'pending') return `denied: request ${r.id} pending (approvals so far: ${r.approvedBy.length}; expires ${r.until})`;
  if (decision.allowed) return `allowed by mapping ${mappingName ?? decision.rule}`;
  return `denied: ${decision.reason}${mappingName ? ` (mapping ${mappingName})` : ''}`;
}

/** Any caller: what can I get right now? */
export const myAccessRoutes: FastifyPluginAsyncTypebox<AccessRoutesOptions> = async (app, { access, now }) => {
  app.get('/v1/access/mine', {
    schema: { operationId: 'myAccess', tags, security, summary: 'What the calling principal can get now, and through which mapping', response: { 200: MyAccess, ...errorResponses(401) } },
  }, async (request) => {
    const at = now();
    return { at: at.toISOString(), items: effectiveAccess(await access.current(), callerOf(request), at) };
  });
};
