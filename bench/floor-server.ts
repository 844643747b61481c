import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { insertAuditEvent } from '../src/audit/audit-repo.js';
import { bearerToken } from '../src/auth/authenticator.js';
import type { Caller } from '../src/auth/caller.js';
import { createJwtVerifier } from '../src/auth/jwt-verifier.js';
import type { Config } from '../src/config/config-schema.js';
import { eventMacKeyBytes } from '../src/config/load-config.js';
import { CredentialsRequest } from '../src/credentials/credentials-schema.js';
import { AppError, PROBLEMS } from '../src/http/problem.js';
import { registerStrictValidation } from '../src/http/validation.js';
import type { Store } from '../src/store/store.js';

/** The event type of audit-floor rows: kept apart from dab's own, so counting `credential.issued` stays exact. */
export const FLOOR_EVENT_TYPE = 'bench.floor';

/**
 * The lean floor's own table: a primary key and the least a credentials endpoint must record to
 * be audited at all — when, who (issuer + subject), what (database + level) and the grant's id.
 * No secondary index, no constraint beyond the key: the cheapest write that still says who got what.
 */
export const LEAN_FLOOR_TABLE_SQL = `CREATE TABLE IF NOT EXISTS bench_floor_events (
  id bigserial PRIMARY KEY,
  grant_id uuid NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  issuer text NOT NULL,
  subject text NOT NULL,
  database_name text NOT NULL,
  access_level text NOT NULL
)`;
const LEAN_INSERT_SQL = 'INSERT INTO bench_floor_events (grant_id, issuer, subject, database_name, access_level) VALUES ($1, $2, $3, $4, $5)';

const PLACEHOLDER_TOKEN = `floor.example.com:5432/?Action=connect&DBUser=floor_ro_user&${'X'.repeat(1150)}`;
// A grant-sized answer (a real token is ~1.2 KB): sending and parsing it is part of the HTTP cost.
const answer = (grantId: string) => ({ grantId, token: PLACEHOLDER_TOKEN, user: 'floor_ro_user', expiresAt: new Date(Date.now() + 900_000).toISOString() });

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
 * dab's verifier, checking every request's signature against the JWKS: the floors are defined as
 * verifying each token (jose, as an endpoint without a cache would), so dab's verified-token cache
 * is switched off here. The report prints dab with it at its default (on).
 */
function floorVerifier(config: Config) {
  return createJwtVerifier({ ...config.auth, verifiedTokenCache: { ...config.auth.verifiedTokenCache, maxEntries: 0 } });
}

// The bench only sends valid tokens; an error here means the bench is broken, and shows as non-2xx.
function plainErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, reply) => {
    const status = err instanceof AppError ? PROBLEMS[err.code][0] : err.statusCode ?? 500;
    return reply.code(status).send({ error: err.message });
  });
}

/**
 * The lean floor, the anchor the broker is judged against: the cheapest audited credentials
 * endpoint one could write. Fastify with its defaults (no logger) and a body schema, dab's JWT
 * verifier (jose remote JWKS, same issuer, same options), and one committed single-row INSERT
 * into `bench_floor_events` through a plain pg Pool as large as dab's default pool. Nothing else:
 * no request log, no mapping lookup, no STS, no signing, no metrics, no audit_events indexes.
 */
export function buildLeanFloor(config: Config, pool: pg.Pool): FastifyInstance {
  const verifier = floorVerifier(config);
  const callers = new WeakMap<object, Caller>();
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  plainErrors(app);
  // Authenticated before the body is read, as dab does.
  app.addHook('onRequest', async (request) => {
    callers.set(request, await verifier.verify(bearerToken(request)));
  });
  app.post('/v1/credentials', { schema: { body: CredentialsRequest } }, async function leanFloorGrant(request) {
    const body = request.body as CredentialsRequest;
    const caller = callers.get(request)!;
    const grantId = randomUUID();
    await pool.query(LEAN_INSERT_SQL, [grantId, caller.issuer, caller.subject, body.database, body.access]);
    return answer(grantId);
  });
  return app;
}

/**
 * The audit floor, a second reference that says where the time goes: the lean floor plus what
 * dab's shape costs before any broker logic — request logging at dab's default level, request ids,
 * dab's strict validation, and the INSERT of a grant-shaped row into dab's own `audit_events`
 * (with all its indexes) through dab's own store. Still no mapping lookup, STS, signing or metrics.
 */
export function buildAuditFloor(config: Config, store: Store): FastifyInstance {
  // The audit floor writes the same row dab would, MAC included, so the comparison stays fair.
  const eventMacKey = eventMacKeyBytes(config.audit);
  const verifier = floorVerifier(config);
  const callers = new WeakMap<object, Caller>();
  const app = Fastify({ logger: { level: config.logLevel }, genReqId: () => randomUUID(), requestIdHeader: false, bodyLimit: 1024 * 1024 });
  registerStrictValidation(app);
  plainErrors(app);
  app.addHook('onRequest', async (request) => {
    callers.set(request, await verifier.verify(bearerToken(request)));
  });
  app.post('/v1/credentials', { schema: { body: CredentialsRequest } }, async function auditFloorGrant(request) {
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
      // Spelled out rather than spread in: a spread makes V8 build the object slowly.
      rule: GRANT_SHAPED_COLUMNS.rule,
      dbUser: GRANT_SHAPED_COLUMNS.dbUser,
      roleArn: GRANT_SHAPED_COLUMNS.roleArn,
      sessionName: GRANT_SHAPED_COLUMNS.sessionName,
      sourceIdentity: GRANT_SHAPED_COLUMNS.sourceIdentity,
      accessKeyId: GRANT_SHAPED_COLUMNS.accessKeyId,
      tokenFingerprint: GRANT_SHAPED_COLUMNS.tokenFingerprint,
      expiresAt: new Date(Date.now() + 900_000),
    }, eventMacKey);
    return answer(eventId);
  });
  return app;
}
