import { Type, type Static } from 'typebox';
import { AWS_ACCOUNT_ID, AWS_PRINCIPAL_ARN } from '../auth/aws-principal.js';
import { ROLE_ARN } from '../databases/database-schema.js';
import { ConsoleConfigSchema } from '../console/console-config-schema.js';
import { NotifyConfigSchema } from '../notify/notify-config-schema.js';

// The whole configuration surface of dab. Every field documented in README's
// configuration reference lives here, with its default; nothing else reads env.

const Principal = Type.Union([
  Type.Object({ issuer: Type.String({ minLength: 1 }), subject: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  Type.Object({ issuer: Type.String({ minLength: 1 }), group: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  // AWS IAM callers (auth.aws): a role or user ARN (path rule: src/auth/aws-principal.ts), or a whole account.
  Type.Object({ aws: Type.String({ pattern: AWS_PRINCIPAL_ARN }) }, { additionalProperties: false }),
  Type.Object({ awsAccount: Type.String({ pattern: AWS_ACCOUNT_ID }) }, { additionalProperties: false }),
]);
export type PrincipalRule = Static<typeof Principal>;

const Issuer = Type.Object(
  {
    issuer: Type.String({ minLength: 1 }),
    audience: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })]),
    // Either a JWKS URL, or nothing: then OIDC discovery at <issuer>/.well-known/openid-configuration.
    jwksUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    algorithms: Type.Array(
      Type.Enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
      { minItems: 1, default: ['RS256'] },
    ),
    subjectClaim: Type.String({ minLength: 1, default: 'sub' }),
    groupsClaim: Type.String({ minLength: 1, default: 'groups' }),
    // Longest accepted token life (exp - iat, or exp - now without iat). CI OIDC, k8s service-account
    // and corporate IdP access tokens live about an hour; a day leaves room without accepting forever.
    maxTokenLifetimeSeconds: Type.Integer({ minimum: 60, maximum: 2592000, default: 86400 }),
  },
  { additionalProperties: false },
);
export type IssuerConfig = Static<typeof Issuer>;

const AwsAuth = Type.Object(
  {
    // This dab's audience: callers sign it as the x-dab-server-id header, so a proof made for
    // another service (or another dab) fails at STS when dab sends its own value.
    serverId: Type.String({ pattern: '^[A-Za-z0-9._:/-]{1,128}$' }),
    // Which tiers accept AWS callers; admins and auditors must still be named in auth.admins/auditors.
    tiers: Type.Array(Type.Enum(['caller', 'admin', 'auditor']), { minItems: 1, uniqueItems: true, default: ['caller'] }),
    partition: Type.Enum(['aws', 'aws-cn', 'aws-us-gov'], { default: 'aws' }),
    // Regional STS hosts a proof may target (sts.<region>.amazonaws.com[.cn]); the global
    // sts.amazonaws.com is accepted too in partition aws. Default: sts.region.
    regions: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' }), { minItems: 1 })),
    // Exactly this STS endpoint instead of the list (sandbox, tests); http only on a loopback address.
    endpoint: Type.Optional(Type.String({ pattern: '^https?://[^/?#@]+/?$' })),
    // How old (by X-Amz-Date) a proof may be; clients sign a new one well before.
    maxProofAgeSeconds: Type.Integer({ minimum: 30, maximum: 900, default: 300 }),
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 30000, default: 3000 }),
    // Verified proofs remembered for their remaining life (least recently used evicted).
    maxCachedProofs: Type.Integer({ minimum: 0, maximum: 1000000, default: 10000 }),
  },
  { additionalProperties: false },
);
export type AwsAuthConfig = Static<typeof AwsAuth>;

export const ConfigSchema = Type.Object(
  {
    listen: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        trustProxy: Type.Boolean({ default: false }),
        // Slow-client bounds (src/http/server-limits.ts): a real caller's request is a few hundred bytes.
        headersTimeoutMs: Type.Integer({ minimum: 100, maximum: 300000, default: 10000 }),
        requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 600000, default: 30000 }),
        idleTimeoutMs: Type.Integer({ minimum: 100, maximum: 600000, default: 60000 }),
        // Above a load balancer's idle timeout (AWS ALB: 60 s), or it may reuse a connection dab just closed.
        keepAliveTimeoutMs: Type.Integer({ minimum: 100, maximum: 600000, default: 72000 }),
        // Keep below the process's open-file limit minus the store pool and log files.
        maxConnections: Type.Integer({ minimum: 1, maximum: 1000000, default: 10000 }),
        maxRequestsPerSocket: Type.Integer({ minimum: 0, maximum: 1000000, default: 0 }),
      },
      { additionalProperties: false, default: {} },
    ),
    // /metrics on a listener of its own (metrics.port), so it can be kept off the public port.
    metrics: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '127.0.0.1' }),
        port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
        // false: the public listener answers 404 on /metrics (needs metrics.port).
        onPublicPort: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    logLevel: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
    store: Type.Object(
      {
        // A PostgreSQL URL (production, CI). Exactly one of url and embedded: true must be given.
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
        // The embedded PostgreSQL (PGlite) in dataDir, a local folder: for trying dab out, never for
        // production. An explicit choice, so that a missing DATABASE_URL stops start-up instead.
        embedded: Type.Boolean({ default: false }),
        dataDir: Type.String({ minLength: 1, default: '.dab-data' }),
        poolMax: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
        connectionTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
        statementTimeoutMs: Type.Integer({ minimum: 100, maximum: 600000, default: 5000 }),
        // The audit INSERTs run as named prepared statements (parsed and planned once per
        // connection). Off behind a pooler in transaction mode that does not track them
        // (PgBouncer before 1.21, or with max_prepared_statements = 0).
        preparedStatements: Type.Boolean({ default: true }),
        // Off in production when the runtime role may not run DDL: then `dab migrate` runs as the owner.
        migrateOnStart: Type.Boolean({ default: true }),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        issuers: Type.Array(Issuer, { minItems: 1 }),
        clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
        // jose refetches a JWKS for an unknown kid at most once per cool-down.
        jwksCooldownSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
        jwksCacheMaxAgeSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 600 }),
        jwksTimeoutMs: Type.Integer({ minimum: 100, maximum: 30000, default: 3000 }),
        // Verified bearer tokens, reused for the same token (src/auth/verified-token-cache.ts):
        // maxEntries 0 verifies every request's signature anew.
        verifiedTokenCache: Type.Object(
          {
            maxEntries: Type.Integer({ minimum: 0, maximum: 1000000, default: 10000 }),
            maxAgeSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
          },
          { additionalProperties: false, default: {} },
        ),
        admins: Type.Array(Principal, { default: [] }),
        auditors: Type.Array(Principal, { default: [] }),
        // AWS IAM callers (src/auth/aws-authenticator.ts): absent, dab accepts JWTs only.
        aws: Type.Optional(AwsAuth),
      },
      { additionalProperties: false },
    ),
    sts: Type.Object(
      {
        region: Type.String({ minLength: 1, default: 'us-east-1' }),
        endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
        sessionDurationSeconds: Type.Integer({ minimum: 1800, maximum: 43200, default: 3600 }),
        // A session is replaced once less than 900 s (a token's life) + this margin remains.
        refreshMarginSeconds: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
        connectionTimeoutMs: Type.Integer({ minimum: 100, maximum: 30000, default: 1000 }),
        requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 3000 }),
        maxAttempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
        // Hard ceiling on one AssumeRole including all retries.
        deadlineMs: Type.Integer({ minimum: 500, maximum: 120000, default: 8000 }),
        sessionNamePrefix: Type.String({ pattern: '^[\\w+=,.@-]{1,16}$', default: 'dab' }),
        setSourceIdentity: Type.Boolean({ default: true }),
        // dab's own AWS principal (the role it runs as): the trust policies it generates for
        // target roles name it (GET /v1/databases/{name}/bootstrap). Unset: a placeholder.
        brokerRoleArn: Type.Optional(Type.String({ pattern: ROLE_ARN })),
        maxCachedSessions: Type.Integer({ minimum: 1, maximum: 1000000, default: 10000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    accessModel: Type.Object(
      {
        // Databases and mappings are served from memory; changes made through another instance
        // (or by SQL) take effect within this many milliseconds. Changes through this one: at once.
        maxStalenessMs: Type.Integer({ minimum: 0, maximum: 60000, default: 500 }),
        // Dry-runs count the callers seen in the audit log over this many days, besides the
        // principals the mappings name, when they list who gains and who loses access.
        dryRunAuditWindowDays: Type.Integer({ minimum: 0, maximum: 3650, default: 30 }),
      },
      { additionalProperties: false, default: {} },
    ),
    // New IAM logins dab hands tokens out for, per instance endpoint (host:port) and for the whole
    // fleet (src/budgets/): AWS advises under ~200 new IAM connections/s per DB instance, past which
    // RDS refuses logins. Each replica takes perSecond / live replicas (heartbeat table).
    mintBudget: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        perSecond: Type.Number({ minimum: 0.001, maximum: 100000, default: 150 }),
        burst: Type.Integer({ minimum: 1, maximum: 1000000, default: 30 }),
        heartbeatSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 5 }),
        // A replica silent this long no longer holds a share (≥ 2 beats, so one slow beat is no exit).
        replicaTtlSeconds: Type.Integer({ minimum: 2, maximum: 3600, default: 15 }),
      },
      { additionalProperties: false, default: {} },
    ),
    // Per-identity limits on the credentials and admin routes; per source address for failed
    // authentications only (src/abuse/). Defaults sit far above a normal app: a pool of 100
    // connections opening at once, each asking for a token, stays inside the caller burst.
    rateLimit: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        caller: Type.Object(
          { burst: Type.Integer({ minimum: 1, maximum: 1000000, default: 120 }), perSecond: Type.Number({ minimum: 0.001, maximum: 100000, default: 10 }) },
          { additionalProperties: false, default: {} },
        ),
        admin: Type.Object(
          { burst: Type.Integer({ minimum: 1, maximum: 1000000, default: 60 }), perSecond: Type.Number({ minimum: 0.001, maximum: 100000, default: 5 }) },
          { additionalProperties: false, default: {} },
        ),
        unauthenticated: Type.Object(
          { burst: Type.Integer({ minimum: 1, maximum: 1000000, default: 30 }), perSecond: Type.Number({ minimum: 0.001, maximum: 100000, default: 1 }) },
          { additionalProperties: false, default: {} },
        ),
        // One rate_limit.started row at a key's first refusal, one rate_limit.summary when this ends.
        summaryWindowSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),
        // Bounds the buckets and the open summary windows (least recently seen forgotten first).
        maxTrackedKeys: Type.Integer({ minimum: 10, maximum: 10000000, default: 100000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    // The web console at /console (src/console/console-config-schema.ts).
    console: ConsoleConfigSchema,
    audit: Type.Object(
      {
        // HMAC key for token fingerprints: at least 32 bytes, given as hex or base64.
        fingerprintKey: Type.String({ minLength: 1 }),
        // HMAC key for event MACs (src/audit/event-mac.ts): at least 32 bytes, hex or base64. Proves a
        // row was written by dab, not inserted with the store's credentials. Optional: derived from
        // fingerprintKey (HKDF, own label) when absent. Keep it, like fingerprintKey, out of the database.
        eventMacKey: Type.Optional(Type.String({ minLength: 1 })),
        // Tamper evidence (src/audit/audit-sealer.ts): new events are sealed into hash-chained
        // batches this often; 0 turns the background sealer off (verify then sees them as unsealed).
        sealIntervalSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 5 }),
        // Most events per seal: bounds one sealing transaction and verification's memory per seal.
        sealBatchSize: Type.Integer({ minimum: 1, maximum: 10000, default: 1000 }),
        // PEM Ed25519 private key for signed checkpoints of the seal chain. Keep it where the store's
        // administrators cannot read it (a secret mount): that is what makes checkpoints worth having.
        checkpointKeyFile: Type.Optional(Type.String({ minLength: 1 })),
        // Append-only NDJSON file receiving every checkpoint (they also go to the log stream).
        checkpointFile: Type.Optional(Type.String({ minLength: 1 })),
        // Least time between checkpoints signed after sealing; 0 signs after every round that sealed.
        checkpointIntervalSeconds: Type.Integer({ minimum: 0, maximum: 86400, default: 60 }),
        // Group commit (src/audit/audit-writer.ts): most grant/denial rows written by one INSERT.
        maxBatchRows: Type.Integer({ minimum: 1, maximum: 1000, default: 64 }),
        // Most audit INSERTs in flight at once; rows arriving while all are busy join the next batch.
        // Each holds a store connection while it runs, so keep it below store.poolMax. One by
        // default: rows queue behind the one INSERT in flight, so batches grow to ~15 rows under
        // load instead of ~4, and the store commits a quarter as often; on the grant bench that cut
        // dab's CPU per grant by ~15 % and raised grants/s against the lean floor (README: How
        // grants are written). More slots suit a store whose commits are slow but parallel.
        maxConcurrentFlushes: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
      },
      { additionalProperties: false },
    ),
    // Just-in-time access requests (src/access-requests/): policy lives in the access document;
    // this bounds how fast one caller may file requests (a flood is a 429, not a page to approvers).
    accessRequests: Type.Object(
      {
        create: Type.Object(
          { burst: Type.Integer({ minimum: 1, maximum: 10000, default: 5 }), perSecond: Type.Number({ minimum: 0.0001, maximum: 1000, default: 0.05 }) },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    // Webhooks told about access requests (src/notify/notify-config-schema.ts).
    notify: NotifyConfigSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
