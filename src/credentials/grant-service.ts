import { traceFields, type AuditEvent } from '../audit/audit-repo.js';
import { endpointOf, type MintBudget } from '../budgets/mint-budget.js';
import type { AuditWriter } from '../audit/audit-writer.js';
import { uuidV7 } from '../audit/uuid-v7.js';
import { matchesPrincipal, type Caller } from '../auth/caller.js';
import { TOKEN_LIFETIME_SECONDS, type RoleSession, type SessionCache } from '../aws/session-cache.js';
import { classifyStsError } from '../aws/sts-errors.js';
import type { SignToken } from '../aws/token-signer.js';
import type { PrincipalRule } from '../config/config-schema.js';
import { ACCESS_LEVELS, type AccessLevel, type Database } from '../databases/database-schema.js';
import { engineOf } from '../engines/registry.js';
import type { Metrics } from '../http/metrics.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { escapeUnsafe, type UnsafeText } from '../http/text-safety.js';
import { decideAccess } from '../mappings/decide-access.js';
import type { AccessModelCache } from '../mappings/access-model-cache.js';
import type { CredentialsRequest, Grant } from './credentials-schema.js';

export interface GrantServiceDeps {
  /** Group commit: this request's row shares an INSERT with the rows of concurrent requests. */
  auditWriter: AuditWriter;
  access: AccessModelCache;
  sessions: SessionCache;
  signToken: SignToken;
  fingerprint: (token: string) => string;
  now: () => Date;
  metrics: Metrics;
  /** Principals who read the audit log; they may not also be grantees in it (separation of duties). */
  auditors: readonly PrincipalRule[];
  /** New logins per instance endpoint, fleet-wide (src/budgets/); absent: no budget. */
  mintBudget?: Pick<MintBudget, 'take'>;
}

// One answer for "no such database" and "not yours", so callers cannot enumerate databases.
const DENIED = 'access to this database at this access level is not granted to you';

export type GrantService = ReturnType<typeof createGrantService>;

/** How one request ended, beyond what the request itself says. */
interface Outcome {
  outcome: 'issued' | 'denied' | 'failed';
  reason: string;
  rule: string | null;
  /** The database's engine, when the database exists (whatever the outcome). */
  engine?: string;
  dbUser?: string;
  roleArn?: string;
  session?: RoleSession;
  tokenFingerprint?: string;
  expiresAt?: Date;
  /** The approved access request whose window allowed the grant (just-in-time access). */
  accessRequestId?: string;
}

/**
 * The audit row of one credentials request. One literal with every column, on purpose: built from
 * object spreads (of differently shaped parts per outcome) it took half of the grant's own CPU time.
 */
function credentialEvent(grantId: string, caller: Caller, body: CredentialsRequest, ctx: RequestContext, occurredAt: Date, o: Outcome): AuditEvent {
  return {
    eventId: grantId,
    occurredAt,
    eventType: `credential.${o.outcome}`,
    outcome: o.outcome,
    reason: o.reason,
    rule: o.rule,
    requestId: ctx.requestId,
    actor: caller,
    sourceIp: ctx.sourceIp,
    userAgent: ctx.userAgent,
    databaseName: body.database,
    accessLevel: body.access,
    engine: o.engine ?? null,
    dbUser: o.dbUser ?? null,
    roleArn: o.roleArn ?? null,
    sessionName: o.session?.roleSessionName ?? null,
    sourceIdentity: o.session?.sourceIdentity ?? null,
    accessKeyId: o.session?.accessKeyId ?? null,
    tokenFingerprint: o.tokenFingerprint ?? null,
    expiresAt: o.expiresAt ?? null,
    callerReason: body.reason ?? null,
    // An AWS caller's ARN as STS stated it, account and role session name (the subject is its role).
    callerArn: caller.aws?.arn ?? null,
    callerAccount: caller.aws?.account ?? null,
    callerSessionName: caller.aws?.sessionName ?? null,
    accessRequestId: o.accessRequestId ?? null,
    ...traceFields(ctx.trace),
  };
}

/**
 * The grant path: decide, assume the role (cached), mint, audit, answer — in that order.
 * Every outcome writes exactly one audit row, and a token is returned only after its row committed.
 */
export function createGrantService({ auditWriter, access, sessions, signToken, fingerprint, now, metrics, auditors, mintBudget }: GrantServiceDeps) {
  async function audit(event: AuditEvent): Promise<void> {
    const stop = metrics.auditWrite.startTimer();
    try {
      // Resolves only once the INSERT holding this row (and its MAC) has committed.
      await auditWriter.write(event);
      stop({ result: 'ok' });
    } catch {
      stop({ result: 'error' });
      // Failed or uncertain (for this row or any other in its batch): either way the caller must
      // not get a token we cannot account for.
      throw new AppError('audit_unavailable', 'the grant could not be recorded, so no credentials were issued', { retryAfterSeconds: 2 });
    }
  }

  async function assume(database: Database, roleArn: string, caller: Caller): Promise<RoleSession> {
    const { session, outcome } = await sessions.get({ roleArn, ...(database.externalId ? { externalId: database.externalId } : {}), caller });
    metrics.sessionCache.inc({ result: outcome });
    return session;
  }

  return {
    /** onAudited: told the audit event id and outcome once its row is committed (the access log's grant id). */
    async grant(caller: Caller, body: CredentialsRequest, ctx: RequestContext, onAudited?: (grantId: string, outcome: Outcome['outcome']) => void): Promise<Grant> {
      // Time-ordered, so event_id's unique index grows at its right edge (see uuid-v7.ts).
      const grantId = uuidV7();
      const level = body.access as AccessLevel;

      /** Every outcome but a grant (a refusal, or a fault after the decision): audited, counted, then answered. */
      const noGrant = async (o: Outcome & { outcome: 'denied' | 'failed' }, error: AppError): Promise<never> => {
        await audit(credentialEvent(grantId, caller, body, ctx, now(), o));
        onAudited?.(grantId, o.outcome);
        metrics.grants.inc({ outcome: o.outcome, level, reason: o.reason });
        throw error;
      };

      if (auditors.some((rule) => matchesPrincipal(caller, rule))) {
        // Whatever mappings say: whoever audits grants must not be able to take them.
        await noGrant(
          { outcome: 'denied', reason: 'auditor_cannot_mint', rule: 'auth.auditors' },
          new AppError('forbidden', 'auditors cannot get database credentials; use an identity that is not an auditor'),
        );
      }

      const model = await access.current();
      const decision = decideAccess({ caller, level, database: body.database, reason: body.reason, model, now: now() });
      if (!decision.allowed) {
        // A missing reason is the caller's to fix and reveals nothing the mapping does not already give them.
        const error = decision.reason === 'reason_required'
          ? new AppError('reason_required', 'this access requires a reason: send "reason" with the request (it is audited)')
          // The caller's own request: saying it waits for approval reveals nothing they do not know.
          : decision.reason === 'request_pending'
            ? new AppError('access_denied', `your access request ${decision.rule?.slice('request:'.length)} is pending approval`)
            : new AppError('access_denied', DENIED);
        const engine = model.databases.get(body.database)?.engine;
        return noGrant({ outcome: 'denied', reason: decision.reason, rule: decision.rule, ...(engine ? { engine } : {}) }, error);
      }
      const db = model.databases.get(body.database) as Database;
      const engine = engineOf(db);
      const { rule, dbUser, roleArn } = decision;
      // Allowed by an approved request's window rather than a standing mapping: the row names the request.
      const allows = decision.accessRequest ? { reason: 'request_window_allows', accessRequestId: decision.accessRequest.id } : { reason: 'mapping_allows' };
      const fail = (reason: string, error: AppError) => noGrant({ outcome: 'failed', reason, rule, engine: db.engine, dbUser, roleArn }, error);

      // Every token handed out counts, reused or not: each is a caller about to open a new login.
      const budget = mintBudget?.take(endpointOf(db));
      if (budget && !budget.ok) {
        const error = new AppError('mint_budget_exceeded', `the database endpoint is at its budget of new logins; retry after ${budget.retryAfterSeconds} s`, { retryAfterSeconds: budget.retryAfterSeconds });
        return noGrant({ outcome: 'denied', reason: 'mint_budget_exceeded', rule: 'mintBudget', engine: db.engine, dbUser, roleArn }, error);
      }

      let session: RoleSession;
      try {
        session = await assume(db, roleArn, caller);
      } catch (err) {
        const { error, reason } = classifyStsError(err, roleArn);
        return fail(reason, error);
      }

      // The token's X-Amz-Date is the whole second the signer reads from the clock, and RDS counts
      // its 900 s from there. Reading our clock just before signing gives that second, or the one
      // before if a boundary falls in between: expiresAt may be a second early, never late.
      const issuedAt = now();
      let token: string;
      try {
        token = await signToken({ target: engine.tokenTarget(db, dbUser), region: db.region, credentials: session });
      } catch {
        // Signing is offline; failing here is a bug of ours, not the caller's — but still on the record.
        return fail('sign_failed', new AppError('internal'));
      }
      const signedAt = Math.floor(issuedAt.getTime() / 1000) * 1000;
      // A token cannot outlive the credentials that signed it.
      const expiresAt = new Date(Math.min(signedAt + TOKEN_LIFETIME_SECONDS * 1000, session.expiration.getTime()));
      const tokenFingerprint = fingerprint(token);
      await audit(credentialEvent(grantId, caller, body, ctx, issuedAt, { outcome: 'issued', ...allows, rule, engine: db.engine, dbUser, roleArn, session, tokenFingerprint, expiresAt }));
      onAudited?.(grantId, 'issued');
      metrics.grants.inc({ outcome: 'issued', level, reason: allows.reason });
      return {
        grantId,
        engine: db.engine,
        token,
        user: dbUser,
        host: db.host,
        port: db.port,
        region: db.region,
        expiresAt: expiresAt.toISOString(),
        ...engine.grant.fields(db),
      };
    },

    /**
     * A request refused for a control character (text-safety) is still a denial on the grant path,
     * so it is audited; every value it records is escaped, as the store cannot hold it as sent.
     */
    async denyInvalidInput(caller: Caller, rawBody: unknown, found: UnsafeText, ctx: RequestContext): Promise<void> {
      const body = (rawBody ?? {}) as Record<string, unknown>;
      const text = (v: unknown) => (typeof v === 'string' ? escapeUnsafe(v) : null);
      const level = ACCESS_LEVELS.find((l) => l === body.access) ?? 'invalid';
      await audit({
        eventId: uuidV7(),
        occurredAt: now(),
        eventType: 'credential.denied',
        outcome: 'denied',
        reason: 'invalid_input',
        rule: 'text_safety',
        requestId: ctx.requestId,
        actor: { issuer: caller.issuer, subject: escapeUnsafe(caller.subject), groups: caller.groups.map((g) => escapeUnsafe(g)) },
        sourceIp: escapeUnsafe(ctx.sourceIp),
        userAgent: ctx.userAgent === null ? null : escapeUnsafe(ctx.userAgent),
        databaseName: text(body.database),
        accessLevel: text(body.access),
        callerReason: text(body.reason),
        details: { field: found.field, character: found.character },
        ...traceFields(ctx.trace),
      });
      metrics.grants.inc({ outcome: 'denied', level, reason: 'invalid_input' });
    },
  };
}
