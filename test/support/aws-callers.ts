import { randomBytes } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AWS_PROOF_PREFIX, NodeSha256 } from '../../src/client/aws-proof.js';
import type { BaseCredentials } from '../../src/sandbox/sts-emulator.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

// AWS callers for tests: identities the STS emulator knows, and proofs signed the way a real
// caller signs them (@smithy/signature-v4, the SDK's own signer), or deliberately bent.

export const APP_ACCOUNT = '222222222222';
export const APP_ROLE = `arn:aws:iam::${APP_ACCOUNT}:role/demo-ec2-app`;
export const SERVER_ID = 'dab-test';

const key = () => `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
/** Instance-profile style credentials (with a session token) whose GetCallerIdentity is the given ARN. */
export const identity = (arn: string): BaseCredentials => ({ accessKeyId: key(), secretAccessKey: randomBytes(30).toString('base64'), sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(300).toString('base64')}`, arn });

export const APP = identity(`arn:aws:sts::${APP_ACCOUNT}:assumed-role/demo-ec2-app/i-0123456789abcdef0`);
/** Same role name, another account: must never be taken for APP. */
export const OTHER_ACCOUNT_APP = identity('arn:aws:sts::333333333333:assumed-role/demo-ec2-app/i-0fedcba9876543210');
export const IAM_USER = identity(`arn:aws:iam::${APP_ACCOUNT}:user/ops/carol`);
export const ROOT = identity(`arn:aws:iam::${APP_ACCOUNT}:root`);

/** A harness whose dab accepts AWS callers (server id SERVER_ID, the emulator as its STS). */
export async function startAwsHarness(t: Parameters<typeof startHarness>[0], opts: HarnessOptions & { aws?: Record<string, unknown> } = {}): Promise<Harness> {
  return startHarness(t, {
    ...opts,
    stsBaseCredentials: [APP, OTHER_ACCOUNT_APP, IAM_USER, ROOT, ...(opts.stsBaseCredentials ?? [])],
    config: (base) => {
      base.auth.aws = { serverId: SERVER_ID, endpoint: base.sts.endpoint, requestTimeoutMs: 500, ...opts.aws };
      opts.config?.(base);
    },
  });
}

export interface SignOptions {
  creds?: BaseCredentials;
  endpoint: string;
  serverId?: string | null;
  query?: Record<string, string>;
  extraHeaders?: Record<string, string>;
  path?: string;
  signedAt?: Date;
  expiresIn?: number;
  region?: string;
}

/** A presigned STS URL as a caller builds it; every part can be bent for the hostile table. */
export async function presignedUrl(o: SignOptions): Promise<string> {
  const creds = o.creds ?? APP;
  const url = new URL(o.endpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}) },
    region: o.region ?? 'us-east-1',
    service: 'sts',
    sha256: NodeSha256,
  });
  const headers: Record<string, string> = { host: url.host, ...(o.serverId === null ? {} : { 'x-dab-server-id': o.serverId ?? SERVER_ID }), ...o.extraHeaders };
  const signed = await signer.presign(
    { method: 'GET', protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path: o.path ?? '/', query: o.query ?? { Action: 'GetCallerIdentity', Version: '2011-06-15' }, headers },
    { expiresIn: o.expiresIn ?? 300, signingDate: o.signedAt ?? new Date() },
  );
  const esc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = Object.entries(signed.query ?? {}).map(([k, v]) => `${esc(k)}=${esc(String(v))}`).join('&');
  return `${url.protocol}//${url.host}${o.path ?? '/'}?${query}`;
}

export const proofOf = (url: string) => AWS_PROOF_PREFIX + Buffer.from(url, 'latin1').toString('base64url');
export const urlOf = (proof: string) => Buffer.from(proof.slice(AWS_PROOF_PREFIX.length), 'base64url').toString('latin1');

export async function signedProof(o: SignOptions): Promise<string> {
  return proofOf(await presignedUrl(o));
}
