import { createHash } from 'node:crypto';
import type { Caller } from '../auth/caller.js';

// STS allows 2–64 characters of [\w+=,.@-] for RoleSessionName and SourceIdentity.
const ALLOWED = /[^\w+=,.@-]/g;
const MAX = 64;

/**
 * Derives the RoleSessionName and SourceIdentity the target account's CloudTrail will show, from
 * the caller. Readable where the subject allows it; when characters had to be replaced or the name
 * cut, a short hash of issuer + subject keeps distinct callers distinct.
 */
export function sessionIdentity(caller: Caller, prefix: string): { roleSessionName: string; sourceIdentity: string } {
  return {
    roleSessionName: fit(`${prefix}.${caller.subject}`, caller),
    sourceIdentity: fit(caller.subject, caller),
  };
}

function fit(wanted: string, caller: Caller): string {
  const clean = wanted.replace(ALLOWED, '_');
  if (clean === wanted && clean.length >= 2 && clean.length <= MAX) return clean;
  const hash = createHash('sha256').update(`${caller.issuer}\n${caller.subject}`).digest('hex').slice(0, 10);
  return `${clean.slice(0, MAX - hash.length - 1)}-${hash}`;
}
