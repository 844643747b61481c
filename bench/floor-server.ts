import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { insertAuditEvent } from '../src/audit/audit-repo.js';
import { bearerToken } from '../src/auth/auth-hooks.js';
import type { Caller } from '../src/auth/caller.js';
import { createJwtVerifier } from '../src/auth/jwt-verifier.js';
import type { Config } from '../src/config/config-schema.js';
import { eventMacKeyBytes } from '../src/config/load-config.js';
import { CredentialsRequest } from '../src/credentials/credentials-schema.js';
import { AppError, PROBLEMS } from '../src/http/problem.js';
import { registerStrictValidation } from '../src/http/validation.js';
import type { Store } from '../src/store/store.js';

/** The event type of floor rows: kept apart from dab's own, so counting `credential.issued` stays exact. */
export const FLOOR_EVENT_TYPE = 'bench.floor';

const PLACEHOLDER_TOKEN = `floor.example.com:5432/?Action=connect&DBUser=floor_ro_user&${'X'.repeat(1150)}`;

const GRANT_SHAPED_COLUMNS = {
  rule: '00000000-0000-4000-8000-000000000000',
  dbUser: 'floor_ro_user',
  roleArn: 'arn:aws:iam::123456789012:role/floor-ro',
  sessionName: 'dab.floor-caller',
  sourceIdentity: 'floor-caller',
  accessKeyId: 'ASIAFLOORFLOORFLOOR0',
  tokenFingerprint: `hmac-sha256:${'0'.repeat(64)}`,
};

/**
 * The floor: the least any audited credentials endpoint has to do, so the broker can be judged
 * against it rather than against an absolute number that depends on the machine.
 *
 * It does what is unavoidable and nothing else: the same HTTP stack (Fastify, strict body
 * validation with the same request schema, a request id, logging at the same level), the same JWT
 * verification (dab's own verifier: jose remote JWKS against the same issuer with the same options),
 * and one committed single-row INSERT into the same `audit_events` table through the same store.
 * No mapping lookups, no STS session, no token signing, no metrics.
 */
export async function buildFloorServer(config: Config, store: Store): Promise<FastifyInstance> {
  // Its own verifier instance, so its JWKS cache is warmed by its own traffic, not the broker's.
  const verifier = createJwtVerifier(config.auth);
  // The floor writes the same row dab would, MAC included, so the comparison stays fair.
  const eventMacKey = eventMacKeyBytes(config.audit);
  const callers = new WeakMap<object, Caller>();

  const app = Fastify({ logger: { level: config.logLevel }, genReqId: () => randomUUID(), requestIdHeader: false, bodyLimit: 1024 * 1024 });
  registerStrictValidation(app);

  // The bench only sends valid tokens; an error here means the bench is broken, and shows as non-2xx.
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    const status = err instanceof AppError ? PROBLEMS[err.code][0] : err.statusCode ?? 500;
    return reply.code(status).send({ error: err.message });
  });

  // Authenticated before the body is read, as dab does.
  app.addHook('onRequest', async (request) => {
    callers.set(request, await verifier.verify(bearerToken(request)));
  });

  app.post('/v1/credentials', { schema: { body: CredentialsRequest } }, async (request) => {
    const body = request.body as CredentialsRequest;
    const agent = request.headers['user-agent'];
    const eventId = randomUUID();
    await insertAuditEvent(store, {
      eventId,
      occurredAt: new Date(),
      eventType: FLOOR_EVENT_TYPE,
      outcome: 'succeeded',
      reason: 'floor',
      requestId: request.id,
      actor: callers.get(request) ?? null,
      sourceIp: request.ip,
      userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null,
      databaseName: body.database,
      accessLevel: body.access,
      callerReason: body.reason ?? null,
      // Filled like a grant's row, so the INSERT writes the same bytes and the same index entries
      // (partial indexes on these columns would otherwise make the floor cheaper than any grant).
      // Spelled out rather than spread in: a spread makes V8 build the object slowly, and the
      // floor must not carry a cost a careful endpoint would avoid.
      rule: GRANT_SHAPED_COLUMNS.rule,
      dbUser: GRANT_SHAPED_COLUMNS.dbUser,
      roleArn: GRANT_SHAPED_COLUMNS.roleArn,
      sessionName: GRANT_SHAPED_COLUMNS.sessionName,
      sourceIdentity: GRANT_SHAPED_COLUMNS.sourceIdentity,
      accessKeyId: GRANT_SHAPED_COLUMNS.accessKeyId,
      tokenFingerprint: GRANT_SHAPED_COLUMNS.tokenFingerprint,
      expiresAt: new Date(Date.now() + 900_000),
    }, eventMacKey);
    // A grant-sized answer (a real token is ~1.2 KB): sending and parsing it is part of the HTTP cost.
    return { grantId: eventId, token: PLACEHOLDER_TOKEN, user: GRANT_SHAPED_COLUMNS.dbUser, expiresAt: new Date(Date.now() + 900_000).toISOString() };
  });
  return app;
}
