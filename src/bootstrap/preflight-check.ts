import { randomUUID } from 'node:crypto';
import { insertAuditEvent } from '../audit/audit-repo.js';
import { eventMacKeyBytes } from '../config/load-config.js';
import type { Caller } from '../auth/caller.js';
import { sessionIdentity } from '../aws/session-names.js';
import type { AssumeRole, AssumedCredentials } from '../aws/sts-client.js';
import type { SignToken } from '../aws/token-signer.js';
import type { Config } from '../config/config-schema.js';
import { ACCESS_LEVELS, type AccessLevel, type Database } from '../databases/database-schema.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import type { Store } from '../store/store.js';
import { engineOf } from '../engines/registry.js';
import type { LoginCheck } from '../engines/engine.js';
import { explainStsFailure, scrub } from './preflight-explain.js';

export type StepName = 'assume_role' | 'mint_token' | 'login';
export type StepStatus = 'ok' | 'failed' | 'skipped';
export interface CheckStep {
  step: StepName;
  status: StepStatus;
  message: string;
}
export interface LevelCheck {
  level: AccessLevel;
  dbUser: string;
  roleArn: string;
  steps: CheckStep[];
}
export interface CheckResult {
  database: string;
  /** No step failed (a login skipped because dab cannot reach the database is not a failure). */
  ok: boolean;
  levels: LevelCheck[];
}

export interface PreflightDeps {
  store: Store;
  /** Uncached: the check must really ask STS. */
  assumeRole: AssumeRole;
  signToken: SignToken;
  config: Config;
  now: () => Date;
  /** Replaces the engine's own login (Engine.login), e.g. to test what the check makes of an outcome. */
  login?: LoginCheck;
  loginTimeoutMs?: number;
}

/** The shortest session STS grants: the check needs one token's worth. */
const CHECK_SESSION_SECONDS = 900;
export const DEFAULT_LOGIN_TIMEOUT_MS = 5000;

/**
 * Walks each level the way a grant would (AssumeRole with ExternalId and SourceIdentity, mint a
 * token, log in with it) and says, per step, what works and what to fix. Tokens and credentials
 * stay inside this function; one audit event records who checked and what came out.
 */
export function createPreflightCheck(deps: PreflightDeps) {
  const timeoutMs = deps.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
  const sts = deps.config.sts;
  const eventMacKey = eventMacKeyBytes(deps.config.audit);

  async function checkLevel(db: Database, level: AccessLevel, caller: Caller, login: boolean): Promise<LevelCheck> {
    const dbUser = db.levels[level]!.dbUser;
    const roleArn = db.levels[level]!.roleArn ?? db.roleArn;
    const steps: CheckStep[] = [];
    const secrets = db.externalId ? [db.externalId] : [];
    const result = () => ({ level, dbUser, roleArn, steps });
    const skip = (later: StepName[], because: StepName) => {
      for (const step of later) steps.push({ step, status: 'skipped', message: `not tried: ${because} did not succeed` });
    };

    const names = sessionIdentity(caller, sts.sessionNamePrefix);
    const sourceIdentity = sts.setSourceIdentity ? names.sourceIdentity : undefined;
    let credentials: AssumedCredentials;
    try {
      credentials = await deps.assumeRole({
        roleArn,
        ...(db.externalId ? { externalId: db.externalId } : {}),
        roleSessionName: names.roleSessionName,
        ...(sourceIdentity ? { sourceIdentity } : {}),
        durationSeconds: CHECK_SESSION_SECONDS,
      });
      const si = sourceIdentity ? `, SourceIdentity ${sourceIdentity}` : '';
      steps.push({ step: 'assume_role', status: 'ok', message: `assumed ${roleArn} as session ${names.roleSessionName}${si}${db.externalId ? ', with the registered ExternalId' : ''}` });
    } catch (err) {
      steps.push({ step: 'assume_role', status: 'failed', message: explainStsFailure(err, { roleArn, broker: sts.brokerRoleArn, hasExternalId: Boolean(db.externalId), database: db.name, secrets }) });
      skip(login ? ['mint_token', 'login'] : ['mint_token'], 'assume_role');
      return result();
    }

    const engine = engineOf(db);
    let token: string;
    try {
      token = await deps.signToken({ target: engine.tokenTarget(db, dbUser), region: db.region, credentials });
      steps.push({ step: 'mint_token', status: 'ok', message: `signed an IAM auth token for ${dbUser} at ${db.host}:${db.port} (${db.region})` });
    } catch (err) {
      const secretsNow = [...secrets, credentials.secretAccessKey, credentials.sessionToken];
      steps.push({ step: 'mint_token', status: 'failed', message: `could not sign a token for ${dbUser}: ${scrub((err as Error).message ?? String(err), secretsNow)}` });
      skip(login ? ['login'] : [], 'mint_token');
      return result();
    }
    if (!login) return result();

    const allSecrets = [...secrets, token, credentials.secretAccessKey, credentials.sessionToken];
    const logIn = deps.login ?? engine.login;
    try {
      steps.push({ step: 'login', ...(await logIn({ db, level, dbUser, roleArn, token, timeoutMs, secrets: allSecrets })) });
    } catch (err) {
      // Engines explain their own failures; one that escapes is still a step's answer, never a 500.
      steps.push({ step: 'login', status: 'failed', message: `the login failed: ${scrub((err as Error).message ?? String(err), allSecrets)}` });
    }
    return result();
  }

  return {
    async run(db: Database, caller: Caller, ctx: RequestContext, opts: { login: boolean }): Promise<CheckResult> {
      const defined = ACCESS_LEVELS.filter((level) => db.levels[level]);
      const levels = await Promise.all(defined.map((level) => checkLevel(db, level, caller, opts.login)));
      const ok = levels.every((l) => l.steps.every((s) => s.status !== 'failed'));
      const failed = levels.flatMap((l) => l.steps.filter((s) => s.status === 'failed').map((s) => `${l.level}.${s.step}`));
      try {
        await insertAuditEvent(deps.store, {
          eventId: randomUUID(),
          occurredAt: deps.now(),
          eventType: 'database.checked',
          outcome: ok ? 'succeeded' : 'failed',
          reason: ok ? 'preflight_ok' : 'preflight_failed',
          rule: db.name,
          requestId: ctx.requestId,
          actor: caller,
          sourceIp: ctx.sourceIp,
          userAgent: ctx.userAgent,
          databaseName: db.name,
          details: { login: opts.login, failed, levels },
        }, eventMacKey);
      } catch {
        throw new AppError('audit_unavailable', 'the check ran but could not be recorded in the audit log; retry', { retryAfterSeconds: 2 });
      }
      return { database: db.name, ok, levels };
    },
  };
}

export type PreflightCheck = ReturnType<typeof createPreflightCheck>;
