import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { createRateLimits } from './abuse/rate-limits.js';
import { createRefusalAudit } from './abuse/refusal-audit.js';
import { accessRequestsRoutes } from './access-requests/access-requests-routes.js';
import { createAccessRequestsService } from './access-requests/access-requests-service.js';
import { createNotifier } from './notify/webhook-notifier.js';
import { requireTier } from './auth/auth-hooks.js';
import { AWS_ISSUER } from './auth/aws-principal.js';
import { awsDiscoveryRoutes } from './auth/aws-discovery-routes.js';
import { createTierAuthenticators } from './auth/tier-authenticators.js';
import { createSessionCache } from './aws/session-cache.js';
import type { AssumeRole } from './aws/sts-client.js';
import { censorSecrets } from './http/log-censor.js';
import { createTokenSigner, reuseWithinSigningSecond, type SignToken } from './aws/token-signer.js';
import { createFingerprinter } from './audit/fingerprint.js';
import { setupAuditWriter } from './audit/audit-writer-setup.js';
import { setupMintBudget } from './budgets/mint-budget-setup.js';
import { sealLagSeconds } from './audit/seal-repo.js';
import { uuidV7 } from './audit/uuid-v7.js';
import { auditQueryRoutes } from './audit/audit-query-routes.js';
import { createAuditQueryService } from './audit/audit-query-service.js';
import { setupAuditIntegrity } from './audit/audit-integrity.js';
import { verifyRoutes } from './audit/verify-routes.js';
import { eventMacKeyBytes, fingerprintKeyBytes } from './config/load-config.js';
import type { Config } from './config/config-schema.js';
import { credentialsRoutes } from './credentials/credentials-routes.js';
import { createGrantService } from './credentials/grant-service.js';
import { databasesRoutes } from './databases/databases-routes.js';
import { createDatabasesService } from './databases/databases-service.js';
import { registerAccessLog } from './http/access-log.js';
import { registerTraceContext } from './http/trace-context.js';
import { registerErrorHandling } from './http/error-handler.js';
import { frameworkErrorOptions } from './http/framework-errors.js';
import { healthRoutes } from './http/health-routes.js';
import { createMetrics, gaugeAtScrape, registerPoolGauges, registerRequestMetrics } from './http/metrics.js';
import { openApiOptions } from './http/openapi.js';
import { ProblemSchema } from './http/problem.js';
import { serverLimits } from './http/server-limits.js';
import { registerStrictValidation } from './http/validation.js';
import { mappingsRoutes } from './mappings/mappings-routes.js';
import { accessRoutes, myAccessRoutes } from './mappings/access-routes.js';
import { adminRoutes } from './admin/admin-routes.js';
import { createAdminService } from './admin/admin-service.js';
import { bootstrapRoutes } from './bootstrap/bootstrap-routes.js';
import { consoleRoutes } from './console/console-plugin.js';
import { createAccessModelCache } from './mappings/access-model-cache.js';
import { listenForAccessModelChanges } from './mappings/access-model-listener.js';
import { createMappingsService } from './mappings/mappings-service.js';
import type { Store } from './store/store.js';

/** The outside world, injected so tests can swap it without module mocks. */
export interface AppDependencies {
  store: Store;
  /** STS AssumeRole (see createAssumeRole): the real SDK client, pointed wherever config says. */
  assumeRole: AssumeRole;
  signToken?: SignToken;
  now?: () => Date;
  /** Used for OIDC discovery; jose fetches JWKS itself. */
  fetch?: typeof fetch;
  /** Where JSON logs go (default stdout). Tests capture them to prove no secret is logged. */
  logStream?: DestinationStream;
}

/** Builds the service. Never listens: server.ts does that, tests use app.inject. */
export async function buildApp(config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const now = deps.now ?? (() => new Date());
  const metrics = createMetrics();
  const fingerprint = createFingerprinter(fingerprintKeyBytes(config.audit.fingerprintKey));
  // Every audit row dab writes carries a MAC under this key (src/audit/event-mac.ts).
  const eventMacKey = eventMacKeyBytes(config.audit);
  // Every logged object passes the censor: a secret some code path tries to log becomes "[redacted]".
  const loggerOptions = { level: config.logLevel, formatters: { log: censorSecrets } };

  const app = Fastify({
    logger: deps.logStream ? { ...loggerOptions, stream: deps.logStream } : loggerOptions,
    // One access line per request instead of Fastify's two (src/http/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // Time-ordered: request_id is indexed, and a v7 id lands at that index's right edge.
    genReqId: () => uuidV7(),
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    trustProxy: config.listen.trustProxy,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ...frameworkErrorOptions, // problem+json from the router and Node's parser, and on shutdown (was return503OnClosing)
    ...serverLimits(config.listen, metrics),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only: text/plain (a Fastify default) is a 415, not a string body that fails validation.
  app.removeContentTypeParser('text/plain');
  registerStrictValidation(app);
  registerErrorHandling(app);
  registerRequestMetrics(app, metrics);
  registerAccessLog(app);
  // Before authentication and rate limits: every audit row a request writes can carry its trace.
  registerTraceContext(app);
  app.addSchema(ProblemSchema);
  // Callback-style (not async) hooks on every response: no promise per request on the hot path.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  await app.register(swagger, openApiOptions());

  const authenticatorsFor = createTierAuthenticators({ config, store: deps.store, macKey: eventMacKey, metrics, now, log: app.log, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const awsConfig = config.auth.aws;
  const countAuthFailure = (reason: string) => metrics.authFailures.inc({ reason });
  const assumeRole: AssumeRole = async (input) => {
    try {
      const credentials = await deps.assumeRole(input);
      metrics.assumeRole.inc({ result: 'ok' });
      return credentials;
    } catch (err) {
      metrics.assumeRole.inc({ result: (err as Error).name || 'error' });
      throw err;
    }
  };
  const sessions = createSessionCache({
    assumeRole,
    now,
    sessionDurationSeconds: config.sts.sessionDurationSeconds,
    refreshMarginSeconds: config.sts.refreshMarginSeconds,
    sessionNamePrefix: config.sts.sessionNamePrefix,
    setSourceIdentity: config.sts.setSourceIdentity,
    maxEntries: config.sts.maxCachedSessions,
  });
  // Seals the audit log into hash-chained batches in the background (started on ready, stopped on close).
  // First of the store's users: a bad checkpoint key file stops start-up before anything else is set up.
  const integrity = setupAuditIntegrity(app, config.audit, deps.store, now);
  const access = createAccessModelCache({ store: deps.store, maxStalenessMs: config.accessModel.maxStalenessMs });
  // Other replicas' changes reach this one by NOTIFY at once; the version poll bounds it if not.
  const modelListener = listenForAccessModelChanges(deps.store, access, app.log);
  app.addHook('onReady', () => modelListener.start());
  app.addHook('onClose', () => modelListener.stop());
  // One signing key per cached STS session (and day): the signer's cache is sized like the session cache.
  const baseSigner = deps.signToken ?? createTokenSigner({ maxCachedKeys: config.sts.maxCachedSessions });
  const signToken = reuseWithinSigningSecond(baseSigner, (source) => metrics.rdsTokens.inc({ source }));
  const auditWriter = setupAuditWriter(app, config.audit, deps.store, metrics, eventMacKey);
  registerPoolGauges(metrics, deps.store);
  gaugeAtScrape(metrics, 'dab_sts_session_cache_entries', 'STS role sessions held in the session cache', () => sessions.size);
  if (integrity.checkpoints.enabled) {
    // NaN until this process has signed (or found in the checkpoint file) a checkpoint.
    gaugeAtScrape(metrics, 'dab_audit_checkpoint_age_seconds', 'Age of the newest signed checkpoint this instance knows of', () => {
      const at = integrity.checkpoints.latestSignedAt;
      return at === undefined ? Number.NaN : Math.max(0, (now().getTime() - Date.parse(at)) / 1000);
    });
  }
  gaugeAtScrape(metrics, 'dab_audit_seal_lag_seconds', 'Age of the oldest audit row no seal covers yet; 0 when every row is sealed', () => sealLagSeconds(deps.store, now()));
  const mintBudget = setupMintBudget(app, config.mintBudget, deps.store, metrics);
  const grants = createGrantService({ auditWriter, access, sessions, signToken, fingerprint, now, metrics, auditors: config.auth.auditors, mintBudget });
  // Changes through this instance are enforced at once; the version poll covers the others.
  const databases = createDatabasesService({ store: deps.store, now, fingerprint, eventMacKey, onChange: access.invalidate });
  const mappings = createMappingsService({ store: deps.store, now, eventMacKey, issuers: [...config.auth.issuers.map((i) => i.issuer), ...(awsConfig ? [AWS_ISSUER] : [])], onChange: access.invalidate });
  const admin = createAdminService({ store: deps.store, now, databases, mappings, auditWindowDays: config.accessModel.dryRunAuditWindowDays, eventMacKey, onChange: access.invalidate });

  // Just-in-time access: requests' steps queue webhooks in their own transactions; one timer
  // delivers them and records requests and windows that timed out (decisions never wait for it).
  let sweep: () => Promise<void> = async () => undefined;
  const notifier = createNotifier({ store: deps.store, config: config.notify, metrics, now, log: app.log, onTick: () => sweep() });
  // A flood of requests from one caller is on the record as rate_limit.started / summary rows.
  const floods = createRefusalAudit({ store: deps.store, macKey: eventMacKey, metrics, log: app.log, windowSeconds: config.rateLimit.summaryWindowSeconds, maxOpenWindows: config.rateLimit.maxTrackedKeys });
  app.addHook('onClose', () => floods.close());
  const accessRequests = createAccessRequestsService({
    store: deps.store, now, access, notifier, macKey: eventMacKey, metrics, createRule: config.accessRequests.create, admins: config.auth.admins, auditors: config.auth.auditors,
    onFlood: (who) => floods.refused(who),
  });
  sweep = async () => {
    await accessRequests.recordTimeouts();
  };
  app.addHook('onReady', async () => notifier.start());
  app.addHook('onClose', () => notifier.stop());

  const limits = createRateLimits(config.rateLimit, { store: deps.store, macKey: eventMacKey, metrics, log: app.log });
  app.addHook('onClose', () => limits.close());
  await app.register(healthRoutes, { store: deps.store, metrics, metricsOnPublicPort: config.metrics.onPublicPort });
  app.decorate('metricsRegistry', metrics.registry);
  await app.register(awsDiscoveryRoutes, { aws: awsConfig });
  // The web console: static files, no authentication of its own (the API calls it makes carry the person's token).
  if (config.console.enabled) await app.register(consoleRoutes, { console: config.console });
  // Each tier is its own encapsulated context with its own authentication hook.
  await app.register(async (callerScope) => {
    requireTier(callerScope, 'caller', authenticatorsFor('caller'), config.auth, countAuthFailure, limits.caller);
    await callerScope.register(credentialsRoutes, { service: grants });
    await callerScope.register(myAccessRoutes, { access, now });
    await callerScope.register(accessRequestsRoutes, { service: accessRequests });
  });
  await app.register(async (adminScope) => {
    requireTier(adminScope, 'admin', authenticatorsFor('admin'), config.auth, countAuthFailure, limits.admin);
    await adminScope.register(databasesRoutes, { service: databases });
    await adminScope.register(mappingsRoutes, { service: mappings });
    await adminScope.register(accessRoutes, { access, now });
    await adminScope.register(adminRoutes, { service: admin });
    await adminScope.register(bootstrapRoutes, { store: deps.store, assumeRole, signToken: baseSigner, config, now });
  });
  // Auditors read and verify the log; they cannot mint credentials or change mappings.
  await app.register(async (auditorScope) => {
    requireTier(auditorScope, 'auditor', authenticatorsFor('auditor'), config.auth, countAuthFailure);
    // AUDITOR ROUTES: register auditor-tier plugins here.
    await auditorScope.register(verifyRoutes, { store: deps.store, checkpoints: integrity.checkpoints, publicKey: integrity.publicKey, macKey: eventMacKey });
    await auditorScope.register(auditQueryRoutes, { service: createAuditQueryService({ store: deps.store, fingerprint }) });
  });
  return app;
}
