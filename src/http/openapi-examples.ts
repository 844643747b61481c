import { csvHeader, csvRow } from '../audit/audit-export-format.js';
import type { AuditEventJson } from '../audit/audit-query-schema.js';
import { ACCESS_REQUEST_EXAMPLES } from '../access-requests/access-request-examples.js';

// One worked example per operation, for readers of openapi.yaml (and its linter). Kept in one place
// so the story reads as one: the `orders` database, DBA alice, app `orders-api`, auditor bob.
// The linter (npm run lint:openapi) validates every example against its operation's schemas, so an
// example cannot drift from the code.

const ISSUER = 'https://idp.example.com';
const ACCOUNT = '123456789012';
const HOST = 'orders.cluster-abc123.eu-west-1.rds.amazonaws.com';
const AT = '2026-12-01T14:05:00.000Z';
const GRANT_ID = '0193a6f2-7c1e-7b44-9d2a-4f6c2e8b1a07';
const MAPPING_ID = '0193a6e0-11aa-7cde-8f00-2b3c4d5e6f70';
const FINGERPRINT = 'hmac-sha256:5f1c0e8a4b7d2c9e6a3f0b1d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e';

const database = {
  name: 'orders',
  engine: 'postgres',
  host: HOST,
  port: 5432,
  region: 'eu-west-1',
  dbname: 'orders',
  roleArn: `arn:aws:iam::${ACCOUNT}:role/dab-orders`,
  externalId: 'ext-orders-7f3a9c',
  sslmode: 'verify-full',
  labels: { env: 'prod', team: 'payments' },
  levels: {
    ro: { dbUser: 'orders_ro', roleArn: `arn:aws:iam::${ACCOUNT}:role/dab-orders-ro` },
    rw: { dbUser: 'orders_rw', roleArn: `arn:aws:iam::${ACCOUNT}:role/dab-orders-rw` },
    monitor: { dbUser: 'orders_monitor' },
  },
};
const stored = { version: 3, createdAt: '2026-11-02T09:00:00.000Z', updatedAt: '2026-11-20T16:30:00.000Z' };
const storedDatabase = { ...database, ...stored };

const mapping = {
  name: 'orders-api-ro',
  principal: { issuer: ISSUER, subject: 'system:serviceaccount:orders:orders-api' },
  database: 'orders',
  levels: ['ro'],
  owner: 'team-payments',
  description: 'The orders API reads orders',
};
const storedMapping = { id: MAPPING_ID, ...mapping, ...stored };

const grantEvent = {
  id: '48213',
  eventId: GRANT_ID,
  occurredAt: AT,
  eventType: 'credential.issued',
  outcome: 'issued',
  reason: 'mapping_allows',
  rule: MAPPING_ID,
  requestId: '0193a6f2-7c1d-7a10-8b3e-9c0d1e2f3a4b',
  actor: { issuer: ISSUER, subject: 'system:serviceaccount:orders:orders-api', groups: [] },
  sourceIp: '192.0.2.10',
  userAgent: 'dab-cli/0.1.0',
  database: 'orders',
  level: 'ro',
  engine: 'postgres',
  dbUser: 'orders_ro',
  roleArn: `arn:aws:iam::${ACCOUNT}:role/dab-orders-ro`,
  sessionName: 'dab.orders-api',
  sourceIdentity: 'orders-api',
  accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
  tokenFingerprint: FINGERPRINT,
  expiresAt: '2026-12-01T14:20:00.000Z',
  callerReason: null,
  details: null,
  awsCaller: null, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', clientRequestId: 'req-7f3a9c',
};

const impact = {
  principalsCompared: 4,
  auditWindowDays: 30,
  gains: [{ principal: { issuer: ISSUER, subject: 'system:serviceaccount:orders:orders-api' }, seenInAuditLog: true, database: 'orders', level: 'ro' }],
  losses: [],
};
const changeResult = { dryRun: true, changes: [{ kind: 'mapping', name: 'orders-api-ro', action: 'create' }], unchanged: 7, impact };

const verified = {
  ok: true,
  result: 'intact',
  checkedEvents: 48213,
  checkedSeals: 49,
  unsealedEvents: 12,
  head: { seq: 49, sealHash: '9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f', lastId: 48201 },
  archived: null,
  eventMacs: { checked: 48213, writtenBefore: 0 },
};
const checkpoint = {
  version: 1,
  seq: 49,
  sealHash: verified.head.sealHash,
  lastId: 48201,
  at: AT,
  keyId: '3f9a1c0b7e2d4a6f',
  signature: 'kq3Yb8mX0v1t6Zr4W9sQe2uJfH7cLpN5aDgKoBiRyTwVzUxMlEnCjSdFhGtIqOrP0a9b8c7d6e5f4g3h2i1j0k==',
};

export interface OperationExample {
  /** What a successful answer means, in the reader's words (replaces "Default Response"). */
  ok: string;
  /** A successful answer's body (absent for 204). */
  response?: unknown;
  /** A request body, for operations that take one. */
  request?: unknown;
  /** Answers in more than one media type: an example per type (instead of `response`). */
  byMediaType?: Record<string, unknown>;
}

export const OPERATION_EXAMPLES: Record<string, OperationExample> = {
  healthz: { ok: 'The process is alive', response: { status: 'ok' } },
  readyz: { ok: 'The store answers, migrations are applied and the runtime role has what serving needs', response: { status: 'ready' } },
  metrics: { ok: 'Prometheus text exposition', response: '# HELP dab_grants_total Credentials requests by outcome\n# TYPE dab_grants_total counter\ndab_grants_total{outcome="issued",level="ro",reason="mapping_allows"} 1042\n' },
  createCredentials: {
    ok: 'Credentials for the mapped DB user; the grant was committed to the audit log first. Never cache: the token is the password',
    request: { database: 'orders', access: 'ro' },
    response: {
      grantId: GRANT_ID,
      engine: 'postgres',
      token: `${HOST}:5432/?Action=connect&DBUser=orders_ro&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLEEXAMPLE01%2F20261201%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20261201T140500Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=7d3f0c1e9b2a4c6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e`,
      user: 'orders_ro',
      host: HOST,
      port: 5432,
      dbname: 'orders',
      region: 'eu-west-1',
      expiresAt: '2026-12-01T14:20:00.000Z',
      sslmode: 'verify-full',
    },
  },
  awsAuthInfo: {
    ok: 'AWS IAM callers are accepted: sign this server id into the proof',
    response: { serverId: 'dab.prod.example.com', proofFormat: 'dab-aws-v1', maxProofAgeSeconds: 300, tiers: ['caller'] },
  },
  myAccess: {
    ok: 'The databases and levels you can get right now, and the mapping that gives each',
    response: { at: AT, items: [{ database: 'orders', level: 'ro', mapping: 'orders-api-ro', requireReason: false }] },
  },
  createDatabase: { ok: 'Registered; ETag carries its version', request: database, response: { ...storedDatabase, version: 1, updatedAt: stored.createdAt } },
  listDatabases: { ok: 'Every registered database', response: { items: [storedDatabase] } },
  getDatabase: { ok: 'The database; ETag carries its version (send it as If-Match to change it)', response: storedDatabase },
  replaceDatabase: {
    ok: 'Replaced; ETag carries the new version',
    request: (({ name: _name, ...rest }) => rest)(database),
    response: { ...storedDatabase, version: 4 },
  },
  deleteDatabase: { ok: 'Deleted (refused with 409 while mappings still name it)' },
  createMapping: { ok: 'Created; ETag carries its version', request: mapping, response: { ...storedMapping, version: 1, updatedAt: stored.createdAt } },
  listMappings: { ok: 'The mappings that match every filter given', response: { items: [storedMapping] } },
  getMapping: { ok: 'The mapping; ETag carries its version (send it as If-Match to change it)', response: storedMapping },
  replaceMapping: { ok: 'Replaced; ETag carries the new version', request: { ...mapping, levels: ['ro', 'monitor'] }, response: { ...storedMapping, levels: ['ro', 'monitor'], version: 4 } },
  deleteMapping: { ok: 'Deleted' },
  explainAccess: {
    ok: 'The decision dab would make for this principal now (or at `at`), and every mapping it considered',
    request: { principal: { issuer: ISSUER, subject: 'system:serviceaccount:orders:orders-api' }, database: 'orders', access: 'rw' },
    response: {
      at: AT,
      allowed: false,
      reason: 'level_not_granted',
      summary: 'denied: level_not_granted (mapping orders-api-ro)',
      rule: null,
      considered: [{ ...(({ version: _v, createdAt: _c, updatedAt: _u, ...m }) => m)(storedMapping), verdict: 'other_levels' }],
    },
  },
  applyAccessDocument: {
    ok: 'What the document changes (applied in one transaction, or only computed with dryRun) and who gains or loses access',
    request: { document: { databases: [database], mappings: [mapping] }, prune: false, dryRun: true },
    response: changeResult,
  },
  applyChanges: {
    ok: 'What the operations change, applied in one transaction (or only computed with dryRun)',
    request: { operations: [{ action: 'put', mapping }], dryRun: true },
    response: changeResult,
  },
  exportAccessDocument: { ok: 'Every database and mapping as one access document (what apply takes)', response: { databases: [database], mappings: [mapping] } },
  getDatabaseBootstrap: {
    ok: 'What a DBA runs to prepare the database and its IAM roles: SQL, and per role a trust and a permission policy',
    response: {
      database: 'orders',
      engine: 'postgres',
      sql: 'CREATE ROLE orders_ro_role NOLOGIN; -- … idempotent, fully quoted\n',
      roles: [
        {
          roleArn: `arn:aws:iam::${ACCOUNT}:role/dab-orders-ro`,
          levels: ['ro'],
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'DabAssumesThisRole',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/dab` },
                Action: 'sts:AssumeRole',
                Condition: { StringEquals: { 'sts:ExternalId': 'ext-orders-7f3a9c' } },
              },
              { Sid: 'DabSetsSourceIdentity', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/dab` }, Action: 'sts:SetSourceIdentity' },
            ],
          },
          permissionPolicy: {
            Version: '2012-10-17',
            Statement: [{ Sid: 'ConnectAsLevelUsers', Effect: 'Allow', Action: 'rds-db:connect', Resource: [`arn:aws:rds-db:eu-west-1:${ACCOUNT}:dbuser:cluster-ABC123/orders_ro`] }],
          },
          sizes: { trustPolicy: 402, permissionPolicy: 171 },
          warnings: [],
        },
      ],
      warnings: [],
    },
  },
  checkDatabase: {
    ok: 'Each level checked end to end: assume its role, mint a token, log in (ok is false if any step failed)',
    request: { login: true },
    response: {
      database: 'orders',
      ok: true,
      levels: [
        {
          level: 'ro',
          dbUser: 'orders_ro',
          roleArn: `arn:aws:iam::${ACCOUNT}:role/dab-orders-ro`,
          steps: [
            { step: 'assume_role', status: 'ok', message: 'assumed with ExternalId and SourceIdentity' },
            { step: 'mint_token', status: 'ok', message: 'token signed' },
            { step: 'login', status: 'ok', message: 'logged in over TLS as orders_ro' },
          ],
        },
      ],
    },
  },
  verifyAuditLog: { ok: 'The verification result: ok, or the first broken event and how it broke', response: verified },
  verifyAuditLogAgainstCheckpoint: {
    ok: 'The verification result, anchored to the checkpoint you hold',
    request: { checkpoint, publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAexampleexampleexampleexampleexampleexampleexa=\n-----END PUBLIC KEY-----\n' },
    response: { ...verified, checkpoint: { seq: 49, status: 'matched' } },
  },
  getLatestAuditCheckpoint: { ok: 'The latest signed checkpoint of the seal chain', response: checkpoint },
  listAuditEvents: { ok: 'One page of events in (occurredAt, id) order; pass nextCursor to get the next', response: { items: [grantEvent], nextCursor: 'eyJ0IjoiMjAyNi0xMi0wMVQxNDowNTowMC4wMDBaIiwiaWQiOiI0ODIxMyJ9' } },
  listHolders: {
    ok: 'Who held a token for this DB user at that instant, with the mapping as recorded when it was granted',
    response: { database: 'orders', dbUser: 'orders_ro', at: '2026-12-01T14:10:00.000Z', items: [{ grant: grantEvent, mapping: null }], truncated: false },
  },
  lookupGrant: { ok: 'The grants that handed out this token, or were signed by this STS access key', request: { accessKeyId: 'ASIAEXAMPLEEXAMPLE01' }, response: { items: [grantEvent], truncated: false } },
  exportAuditEvents: {
    ok: 'The events, streamed, one per line (NDJSON) or as CSV with a header row',
    byMediaType: {
      'application/x-ndjson': `${JSON.stringify(grantEvent)}\n`,
      'text/csv': csvHeader() + csvRow(grantEvent as AuditEventJson),
    },
  },
  ...ACCESS_REQUEST_EXAMPLES,
};
