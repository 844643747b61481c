import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/**
 * The caller side of dab's AWS IAM authentication: a bearer proof "dab-aws-v1.<base64url URL>",
 * the URL an sts:GetCallerIdentity request presigned with the caller's own AWS credentials (the
 * SDK's default chain: env, profile/SSO, web identity, ECS, IMDS) and bound to one dab by the
 * signed x-dab-server-id header. The AWS SDK packages are loaded only when a proof is first made.
 */
export interface AwsProofOptions {
  /** dab's auth.aws.serverId; default DAB_AWS_SERVER_ID, else asked of dab (GET /v1/auth/aws) at dabUrl. */
  serverId?: string;
  /** Where to ask for the server id when it is not given. */
  dabUrl?: string;
  /** STS endpoint the proof targets; default AWS_ENDPOINT_URL_STS, else https://sts.<region>.amazonaws.com. */
  endpoint?: string;
  /** Signing region; default AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Credentials to sign with; default the SDK's default provider chain (fromNodeProviderChain). */
  credentials?: AwsCredentialSource;
  /** How long dab accepts a proof (its maxProofAgeSeconds, default 300); a new one is signed before. */
  maxProofAgeSeconds?: number;
  env?: Record<string, string | undefined>;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}
export type AwsCredentialSource = AwsCredentials | (() => Promise<AwsCredentials>);

export const AWS_PROOF_PREFIX = 'dab-aws-v1.';
// A new proof once less than this is left of dab's freshness bound: room for a slow request.
const REFRESH_MARGIN_MS = 60_000;

/** A bearer function for requestCredentials / dabPassword: a fresh proof, reused until shortly before its bound. */
export function awsProofBearer(opts: AwsProofOptions = {}): () => Promise<string> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const maxAgeMs = (opts.maxProofAgeSeconds ?? 300) * 1000;
  let cached: { proof: string; until: number } | undefined;
  let inFlight: Promise<string> | undefined;
  let serverId: Promise<string> | undefined;

  const make = async (): Promise<string> => {
    serverId ??= resolveServerId(opts, env);
    const signedAt = now();
    const proof = await signProof({ ...opts, serverId: await serverId }, env, signedAt);
    cached = { proof, until: signedAt + Math.max(maxAgeMs - REFRESH_MARGIN_MS, maxAgeMs / 2) };
    return proof;
  };
  return async () => {
    if (cached && now() < cached.until) return cached.proof;
    inFlight ??= make().finally(() => (inFlight = undefined));
    return inFlight;
  };
}

async function resolveServerId(opts: AwsProofOptions, env: Record<string, string | undefined>): Promise<string> {
  const given = opts.serverId ?? env.DAB_AWS_SERVER_ID;
  if (given) return given;
  if (!opts.dabUrl) throw new Error('the AWS proof needs dab\'s server id: pass serverId / --aws-server-id or set DAB_AWS_SERVER_ID');
  const res = await (opts.fetch ?? fetch)(new URL('/v1/auth/aws', opts.dabUrl), { signal: AbortSignal.timeout(10_000) });
  let body: { serverId?: unknown } = {};
  try {
    body = JSON.parse(await res.text()) as typeof body;
  } catch {
    // not JSON: reported below as "does not accept AWS IAM callers"
  }
  if (!res.ok || typeof body.serverId !== 'string') throw new Error(`dab at ${opts.dabUrl} does not accept AWS IAM callers (GET /v1/auth/aws answered ${res.status})`);
  return body.serverId;
}

/** One proof, signed at `signedAtMs`. */
export async function signProof(opts: AwsProofOptions & { serverId: string }, env: Record<string, string | undefined>, signedAtMs: number): Promise<string> {
  const [{ SignatureV4 }, credentials] = await Promise.all([import('@smithy/signature-v4'), loadCredentials(opts.credentials)]);
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = new URL(opts.endpoint ?? env.AWS_ENDPOINT_URL_STS ?? `https://sts.${region}.amazonaws.com`);
  const signer = new SignatureV4({ credentials, region, service: 'sts', sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: endpoint.host, 'x-dab-server-id': opts.serverId },
    },
    { expiresIn: Math.round((opts.maxProofAgeSeconds ?? 300)), signingDate: new Date(signedAtMs) },
  );
  const query = Object.entries(presigned.query ?? {})
    .map(([k, v]) => `${escape(k)}=${escape(String(v))}`)
    .join('&');
  return AWS_PROOF_PREFIX + Buffer.from(`${endpoint.protocol}//${endpoint.host}/?${query}`, 'latin1').toString('base64url');
}

async function loadCredentials(source: AwsCredentialSource | undefined): Promise<() => Promise<AwsCredentials>> {
  if (typeof source === 'function') return source;
  if (source) return async () => source;
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  return fromNodeProviderChain();
}

const escape = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The SHA-256 constructor @smithy/signature-v4 wants (hash, or HMAC with a secret), on node:crypto. */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}
