import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditEvent } from '../src/audit/audit-repo.js';

/**
 * A credential.issued row shaped like the grant path's, for the n-th of many distinct callers: 20
 * databases, 500 STS sessions, a random token fingerprint. `id` makes the event and request ids.
 */
export function grantShapedEvent(id: () => string, n: number): AuditEvent {
  const now = new Date();
  return {
    eventId: id(), occurredAt: now, eventType: 'credential.issued', outcome: 'issued', reason: 'mapping_allows', rule: randomUUID(),
    requestId: id(), actor: { issuer: 'https://idp.example', subject: `caller-${n}`, groups: ['payments'] }, sourceIp: '192.0.2.1',
    userAgent: 'bench', databaseName: `db-${n % 20}`, accessLevel: 'ro', dbUser: `user_${n % 20}`, roleArn: 'arn:aws:iam::123456789012:role/ro',
    sessionName: `dab.caller-${n % 500}`, sourceIdentity: `caller-${n}`, accessKeyId: `ASIA${(n % 500).toString().padStart(16, '0')}`,
    tokenFingerprint: `hmac-sha256:${randomBytes(32).toString('hex')}`, expiresAt: new Date(now.getTime() + 900_000), callerReason: null,
  };
}
