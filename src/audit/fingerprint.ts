import { createHmac } from 'node:crypto';

/**
 * A keyed fingerprint of a secret: lets an auditor match a token found in a ticket or log to its
 * grant without the audit log ever holding the token. Keyed, so the log alone cannot confirm guesses.
 */
export function createFingerprinter(key: Buffer): (secret: string) => string {
  return (secret) => `hmac-sha256:${createHmac('sha256', key).update(secret).digest('hex')}`;
}
