import type { Caller } from '../auth/caller.js';
import type { AssumeRole, AssumedCredentials } from './sts-client.js';
import { sessionIdentity } from './session-names.js';

/** An RDS IAM token lives 900 s; a session must outlive any token it signs. */
export const TOKEN_LIFETIME_SECONDS = 900;

export interface RoleSession extends AssumedCredentials {
  roleArn: string;
  roleSessionName: string;
  sourceIdentity?: string;
}

export interface SessionRequest {
  roleArn: string;
  externalId?: string;
  caller: Caller;
}

export type CacheOutcome = 'hit' | 'miss' | 'refresh';

export interface SessionCacheOptions {
  assumeRole: AssumeRole;
  now: () => Date;
  sessionDurationSeconds: number;
  refreshMarginSeconds: number;
  sessionNamePrefix: string;
  setSourceIdentity: boolean;
  maxEntries: number;
}

export interface SessionCache {
  /** The caller's session for that role: cached, refreshed early, one AssumeRole per key at a time. */
  get(request: SessionRequest): Promise<{ session: RoleSession; outcome: CacheOutcome }>;
  readonly size: number;
}

/**
 * STS sessions cached per (role ARN, ExternalId, caller). The session is per caller because its
 * RoleSessionName/SourceIdentity name the caller in the target account's CloudTrail. A session is
 * replaced once less than a token's life plus the margin remains, so every token signed with a
 * cached session lives its full 15 minutes. Concurrent misses for one key share one AssumeRole.
 */
export function createSessionCache(opts: SessionCacheOptions): SessionCache {
  const sessions = new Map<string, RoleSession>();
  const inFlight = new Map<string, Promise<RoleSession>>();
  const minRemainingMs = (TOKEN_LIFETIME_SECONDS + opts.refreshMarginSeconds) * 1000;

  function fresh(session: RoleSession): boolean {
    return session.expiration.getTime() - opts.now().getTime() >= minRemainingMs;
  }

  function evict(): void {
    if (sessions.size < opts.maxEntries) return;
    for (const [key, session] of sessions) if (!fresh(session)) sessions.delete(key);
    // Still full: drop the oldest inserted; it is re-assumed on its next use.
    while (sessions.size >= opts.maxEntries) {
      const oldest = sessions.keys().next().value;
      if (oldest === undefined) break;
      sessions.delete(oldest);
    }
  }

  async function assume(key: string, request: SessionRequest): Promise<RoleSession> {
    const names = sessionIdentity(request.caller, opts.sessionNamePrefix);
    const sourceIdentity = opts.setSourceIdentity ? names.sourceIdentity : undefined;
    const credentials = await opts.assumeRole({
      roleArn: request.roleArn,
      ...(request.externalId ? { externalId: request.externalId } : {}),
      roleSessionName: names.roleSessionName,
      ...(sourceIdentity ? { sourceIdentity } : {}),
      durationSeconds: opts.sessionDurationSeconds,
    });
    const session: RoleSession = {
      ...credentials,
      roleArn: request.roleArn,
      roleSessionName: names.roleSessionName,
      ...(sourceIdentity ? { sourceIdentity } : {}),
    };
    sessions.delete(key);
    evict();
    sessions.set(key, session);
    return session;
  }

  return {
    async get(request) {
      const key = JSON.stringify([request.roleArn, request.externalId ?? '', request.caller.issuer, request.caller.subject]);
      const cached = sessions.get(key);
      if (cached && fresh(cached)) return { session: cached, outcome: 'hit' };
      const outcome: CacheOutcome = cached ? 'refresh' : 'miss';
      let pending = inFlight.get(key);
      if (!pending) {
        pending = assume(key, request).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return { session: await pending, outcome };
    },
    get size() {
      return sessions.size;
    },
  };
}
