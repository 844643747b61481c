// The test oracle for ElastiCache IAM tokens: @smithy/signature-v4 (the SDK's own SigV4 presigner)
// driven the way AWS's ElastiCache IAM samples drive their SDK's: a GET to http://<cache name>/
// with Action=connect&User=<user> (plus ResourceType=ServerlessCache for a serverless cache),
// presigned for service "elasticache" for 900 s, and the "http://" stripped.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

export interface OracleRequest {
  cacheName: string;
  user: string;
  serverless: boolean;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Default 900, what AWS's samples use; tests pass others to build refused tokens. */
  expiresIn?: number;
}

/** The Checksum the signer wants (a hash, or an HMAC when given a secret), on node:crypto. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

export async function elastiCacheOracleToken(req: OracleRequest, signingDate: Date = new Date()): Promise<string> {
  const { sessionToken, ...keys } = req.credentials;
  const signer = new SignatureV4({
    service: 'elasticache',
    region: req.region,
    credentials: { ...keys, ...(sessionToken !== undefined ? { sessionToken } : {}) },
    sha256: NodeSha256,
  });
  const query: Record<string, string> = { Action: 'connect', User: req.user, ...(req.serverless ? { ResourceType: 'ServerlessCache' } : {}) };
  const presigned = await signer.presign(
    { method: 'GET', protocol: 'http:', hostname: req.cacheName, path: '/', query, headers: { host: req.cacheName } },
    { expiresIn: req.expiresIn ?? 900, signingDate },
  );
  // formatUrl minus the scheme: keys sorted and escaped as the SDK's buildQueryString does.
  const q = Object.entries(presigned.query as Record<string, string>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${escape(k)}=${escape(v)}`)
    .join('&');
  return `${presigned.hostname}${presigned.path}?${q}`;
}

const escape = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
