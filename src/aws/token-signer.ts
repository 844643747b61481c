import { Signer } from '@aws-sdk/rds-signer';
import type { AssumedCredentials } from './sts-client.js';

export interface TokenRequest {
  host: string;
  port: number;
  user: string;
  region: string;
  credentials: AssumedCredentials;
}

/** Mints an RDS IAM auth token. Offline (no AWS call): a SigV4 presigned URL for rds-db:connect. */
export type SignToken = (request: TokenRequest) => Promise<string>;

export const signRdsToken: SignToken = ({ host, port, user, region, credentials }) =>
  new Signer({
    hostname: host,
    port,
    username: user,
    region,
    // Expiration is left out on purpose: the session cache already guarantees 15 minutes of life.
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken },
  }).getAuthToken();
