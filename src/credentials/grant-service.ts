import { randomUUID } from 'node:crypto';
import { insertAuditEvent, type AuditEvent } from '../audit/audit-repo.js';
import { matchesPrincipal, type Caller } from '../auth/caller.js';
import { TOKEN_LIFETIME_SECONDS, type RoleSession, type SessionCache } from '../aws/session-cache.js';
import { classifyStsError } from '../aws/sts-errors.js';
import type { SignToken } from '../aws/token-signer.js';
import type { PrincipalRule } from '../config/config-schema.js';
import type { AccessLevel, Database } from '../databases/database-schema.js';
import type { Metrics } from '../http/metrics.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { decideAccess } from '../mappings/decide-access.js';
import type { AccessModelCache } from '../mappings/access-model-cache.js';
import type { Store } from '../store/store.js';
import type { CredentialsRequest, Grant } from './credentials-schema.js';

export interface GrantServiceDeps {
  store: Store;
  access: AccessModelCache;
  sessions: SessionCache;
  signToken: SignToken;
  fingerprint: (token: string) => string;
  now: () => Date;
  metrics: Metrics;
  /** Principals who read the audit log; they may not also be grantees in it (separation of duties). */
  auditors: readonly PrincipalRule[];
}

// One answer for "no such database" and "not yours", so callers cannot enumerate databases.
const DENIED = 'access to this database at this access level is not granted to you';

export type GrantService = ReturnType<typeof createGrantService>;

/**
 * The grant path: decide, assume the role (cached), mint, audit, answer — in that order.
 * Every outcome writes exactly one audit row, and a token is returned only after its row committed.
 */
export function createGrantService({ store, access, sessions, signToken, fingerprint, now, metrics, auditors }: GrantServiceDeps) {
  async function audit(event: AuditEvent): Promise<void> {
    const stop = metrics.auditWrite.startTimer();
    try {
      await insertAuditEvent(store, event);
      stop({ result: 'ok' });
    } catch {
      stop({ result: 'error' });
      // Failed or uncertain: either way the caller must not get a token we cannot account for.
      throw new AppError('audit_unavailable', 'the grant could not be recorded, so no credentials were issued', { retryAfterSeconds: 2 });
    }
  }

  async function assume(database: Database, roleArn: string, caller: Caller): Promise<RoleSession> {
    const { session, outcome } = await sessions.get({ roleArn, ...(database.externalId ? { externalId: database.externalId } : {}), caller });
    metrics.sessionCache.inc({ result: outcome });
    return session;
  }

  return {
    async grant(caller: Caller, body: CredentialsRequest, ctx: RequestContext): Promise<Grant> {
      const grantId = randomUUID();
      const level = body.access as AccessLevel;
      const base = {
        eventId: grantId,
        requestId: ctx.requestId,
        actor: caller,
        sourceIp: ctx.sourceIp,
        userAgent: ctx.userAgent,
        databaseName: body.database,
        accessLevel: level,
        callerReason: body.reason ?? null,
      };

      /** Every refusal: audited (with the reason and the rule that decided), counted, then answered. */
      const refuse = async (reason: string, rule: string | null, error: AppError): Promise<never> => {
        await audit({ ...base, occurredAt: now(), eventType: 'credential.denied', outcome: 'denied', reason, rule });
        metrics.grants.inc({ outcome: 'denied', level, reason });
        throw error;
      };

      if (auditors.some((rule) => matchesPrincipal(caller, rule))) {
        // Whatever mappings say: whoever audits grants must not be able to take them.
        await refuse('auditor_cannot_mint', 'auth.auditors', new AppError('forbidden', 'auditors cannot get database credentials; use an identity that is not an auditor'));
      }

      const model = await access.current();
      const decision = decideAccess({ caller, level, database: body.database, reason: body.reason, model, now: now() });
      if (!decision.allowed) {
        // A missing reason is the caller's to fix and reveals nothing the mapping does not already give them.
        const error = decision.reason === 'reason_required'
          ? new AppError('reason_required', 'this access requires a reason: send "reason" with the request (it is audited)')
          : new AppError('access_denied', DENIED);
        return refuse(decision.reason, decision.rule, error);
      }
      const db = model.databases.get(body.database) as Database;
      const target = { ...base, rule: decision.rule, dbUser: decision.dbUser, roleArn: decision.roleArn };

      let session: RoleSession;
      try {
        session = await assume(db, decision.roleArn, caller);
      } catch (err) {
        const { error, reason } = classifyStsError(err, decision.roleArn);
        await audit({ ...target, occurredAt: now(), eventType: 'credential.failed', outcome: 'failed', reason });
        metrics.grants.inc({ outcome: 'failed', level, reason });
        throw error;
      }

      const token = await signToken({ host: db.host, port: db.port, user: decision.dbUser, region: db.region, credentials: session });
      const issuedAt = now();
      // A token cannot outlive the credentials that signed it.
      const expiresAt = new Date(Math.min(issuedAt.getTime() + TOKEN_LIFETIME_SECONDS * 1000, session.expiration.getTime()));
      await audit({
        ...target,
        occurredAt: issuedAt,
        eventType: 'credential.issued',
        outcome: 'issued',
        reason: 'mapping_allows',
        sessionName: session.roleSessionName,
        sourceIdentity: session.sourceIdentity ?? null,
        accessKeyId: session.accessKeyId,
        tokenFingerprint: fingerprint(token),
        expiresAt,
      });
      metrics.grants.inc({ outcome: 'issued', level, reason: 'mapping_allows' });
      return {
        grantId,
        token,
        user: decision.dbUser,
        host: db.host,
        port: db.port,
        dbname: db.dbname,
        region: db.region,
        expiresAt: expiresAt.toISOString(),
        sslmode: db.sslmode,
      };
    },
  };
}
