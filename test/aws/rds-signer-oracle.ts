// The test oracle: @aws-sdk/rds-signer itself, driven at a chosen moment. Signer.getAuthToken()
// has no signing-date option (it calls SignatureV4.presign without signingDate, which then
// defaults to `new Date()`), so the clock is pinned by swapping the global Date for the duration
// of one call. Callers check the X-Amz-Date of the result, so a pin that did not take shows up.
import { Signer } from '@aws-sdk/rds-signer';
import type { RdsPresignRequest } from '../../src/engines/rds-db/rds-db-token.js';

export async function librarySignAt({ host, port, user, region, credentials }: RdsPresignRequest, atMs: number): Promise<string> {
  const RealDate = globalThis.Date;
  class PinnedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(atMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return atMs;
    }
  }
  globalThis.Date = PinnedDate as DateConstructor;
  try {
    const libraryCredentials = { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken !== undefined ? { sessionToken: credentials.sessionToken } : {}) };
    return await new Signer({ hostname: host, port, username: user, region, credentials: libraryCredentials }).getAuthToken();
  } finally {
    globalThis.Date = RealDate;
  }
}
