import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Config } from '../config/config-schema.js';

export interface AssumeRoleInput {
  roleArn: string;
  externalId?: string;
  roleSessionName: string;
  sourceIdentity?: string;
  durationSeconds: number;
}

export interface AssumedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** One AssumeRole call, bounded in time including the SDK's own retries. */
export type AssumeRole = (input: AssumeRoleInput) => Promise<AssumedCredentials>;

/**
 * The real STS client, configured the standard way (region, default credential chain, endpoint
 * override for emulators) but with explicit timeouts and retries: the SDK's defaults wait forever.
 */
export function createAssumeRole(
  sts: Config['sts'],
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider,
): { assumeRole: AssumeRole; destroy: () => void } {
  const client = new STSClient({
    region: sts.region,
    ...(sts.endpoint ? { endpoint: sts.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: sts.maxAttempts,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: sts.connectionTimeoutMs,
      requestTimeout: sts.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: sts.requestTimeoutMs,
    }),
  });

  async function assumeRole(input: AssumeRoleInput): Promise<AssumedCredentials> {
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: input.roleArn,
        RoleSessionName: input.roleSessionName,
        DurationSeconds: input.durationSeconds,
        ...(input.externalId ? { ExternalId: input.externalId } : {}),
        ...(input.sourceIdentity ? { SourceIdentity: input.sourceIdentity } : {}),
      }),
      { abortSignal: AbortSignal.timeout(sts.deadlineMs) },
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw Object.assign(new Error('AssumeRole returned no credentials'), { name: 'IncompleteCredentials' });
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  }

  return { assumeRole, destroy: () => client.destroy() };
}
