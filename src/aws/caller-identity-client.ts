import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rebuildProofUrl, SERVER_ID_HEADER, type ParsedProof } from './caller-identity-proof.js';

/** What STS says the proof's signer is. */
export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

/** How a GetCallerIdentity call failed: the caller's fault (refused), or STS's (unavailable, bad_response). */
export class StsIdentityError extends Error {
  constructor(
    readonly kind: 'refused' | 'unavailable' | 'bad_response',
    /** For metrics and the log: an STS error code or what went wrong, never the proof. */
    readonly reason: string,
  ) {
    super(`${kind}: ${reason}`);
  }
}

export interface CallerIdentityClientOptions {
  serverId: string;
  timeoutMs: number;
  /** A real answer is under 1 KB; anything far larger is not STS. */
  maxResponseBytes: number;
}

// STS answers throttling with HTTP 400 and one of these codes: an outage for the caller, not a refusal.
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded']);

/**
 * Sends the rebuilt GetCallerIdentity request, with dab's own server id as the bound header, and
 * reads the answer. No redirects (node's http never follows them), a deadline and a size cap.
 */
export function createCallerIdentityClient(opts: CallerIdentityClientOptions): (proof: ParsedProof) => Promise<CallerIdentity> {
  return function getCallerIdentity(proof) {
    const url = rebuildProofUrl(proof);
    const send = proof.scheme === 'https' ? httpsRequest : httpRequest;
    return new Promise<CallerIdentity>((resolve, reject) => {
      const req = send(
        {
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          // The signed headers: exactly the Host the caller signed, and this dab's id (never the caller's).
          headers: { host: proof.host, [SERVER_ID_HEADER]: opts.serverId, accept: 'text/xml' },
          timeout: opts.timeoutMs,
          agent: false,
        },
        (res) => readCapped(res, opts.maxResponseBytes).then((body) => interpret(res.statusCode ?? 0, body)).then(resolve, reject),
      );
      req.on('timeout', () => req.destroy(new StsIdentityError('unavailable', 'timeout')));
      // Wall-clock bound as well: a server trickling bytes keeps resetting the idle timeout above.
      const deadline = setTimeout(() => req.destroy(new StsIdentityError('unavailable', 'timeout')), opts.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', (err) => reject(err instanceof StsIdentityError ? err : new StsIdentityError('unavailable', (err as NodeJS.ErrnoException).code ?? 'network')));
      req.end();
    });
  };
}

function readCapped(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        res.destroy();
        reject(new StsIdentityError('bad_response', 'response_too_large'));
      } else chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => reject(new StsIdentityError('unavailable', 'response_aborted')));
  });
}

function interpret(status: number, body: string): CallerIdentity {
  if (status === 200) return parseIdentity(body);
  if (status >= 500) throw new StsIdentityError('unavailable', `http_${status}`);
  if (status >= 400) {
    const code = element(body, 'Code');
    if (code && THROTTLING.has(code)) throw new StsIdentityError('unavailable', code);
    // SignatureDoesNotMatch, ExpiredToken, InvalidClientTokenId, AccessDenied, …: the proof is no good.
    throw new StsIdentityError('refused', code && /^[A-Za-z.]{1,64}$/.test(code) ? code : `http_${status}`);
  }
  // 1xx/3xx (a redirect dab will not follow) and anything else: not an STS answer.
  throw new StsIdentityError('bad_response', `http_${status}`);
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const WELL_FORMED = new RegExp(
  `^\\s*(?:<\\?xml[^>]*\\?>\\s*)?<GetCallerIdentityResponse xmlns="${XMLNS.replace(/[./]/g, '\\$&')}">\\s*` +
    '<GetCallerIdentityResult>\\s*((?:<(Arn|UserId|Account)>[^<>]*</\\2>\\s*){3})</GetCallerIdentityResult>\\s*' +
    '<ResponseMetadata>\\s*<RequestId>[^<>]*</RequestId>\\s*</ResponseMetadata>\\s*</GetCallerIdentityResponse>\\s*$',
);
const ARN = /^arn:(aws|aws-cn|aws-us-gov):(sts|iam)::(\d{12}):([\w+=,.@/-]{1,1024})$/;

/** Only a well-formed GetCallerIdentityResponse with each field exactly once, consistent with each other. */
function parseIdentity(body: string): CallerIdentity {
  const m = WELL_FORMED.exec(body);
  if (!m?.[1]) throw new StsIdentityError('bad_response', 'not_a_get_caller_identity_response');
  const fields = new Map<string, string>();
  for (const [, name, value] of m[1].matchAll(/<(Arn|UserId|Account)>([^<>]*)<\/\1>/g)) {
    if (fields.has(name as string)) throw new StsIdentityError('bad_response', 'repeated_field');
    fields.set(name as string, unescapeXml(value as string));
  }
  const arn = fields.get('Arn') ?? '';
  const account = fields.get('Account') ?? '';
  const userId = fields.get('UserId') ?? '';
  const arnMatch = ARN.exec(arn);
  if (!arnMatch || arnMatch[3] !== account || !/^[\w:+=,.@-]{1,256}$/.test(userId)) throw new StsIdentityError('bad_response', 'inconsistent_identity');
  return { arn, userId, account };
}

function element(body: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<>]{0,256})</${name}>`).exec(body)?.[1];
}

const unescapeXml = (s: string): string =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] as string);
