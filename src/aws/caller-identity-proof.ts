// The AWS caller proof: "dab-aws-v1." + base64url of an STS GetCallerIdentity URL presigned
// (SigV4 query) with X-Amz-SignedHeaders=host;x-dab-server-id. dab never forwards it: it parses
// it, checks every part a forged or replayed proof could bend (the lessons of Vault CVE-2020-16250,
// aws-iam-authenticator CVE-2022-2385 and the binding-header advisories), and rebuilds the request
// from the parsed values alone (caller-identity-client.ts).
import { parseAmzDate } from './amz-date.js';

export const AWS_PROOF_PREFIX = 'dab-aws-v1.';
export const SERVER_ID_HEADER = 'x-dab-server-id';
export const STS_VERSION = '2011-06-15';
// A session token from web identity or SSO runs to ~2 KB; the rest of the URL is a few hundred bytes.
export const MAX_PROOF_URL_LENGTH = 8192;
// Longest X-Amz-Expires accepted; dab's own freshness bound (maxProofAgeSeconds) is usually tighter.
export const MAX_PROOF_EXPIRES_SECONDS = 900;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const REQUIRED = ['Action', 'Version', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'] as const;
const ALLOWED = new Set<string>([...REQUIRED, 'X-Amz-Security-Token']);
const SIGNED_HEADERS = `host;${SERVER_ID_HEADER}`;

export interface ProofRules {
  /** Hosts a proof may target (lowercase, with :port when not the scheme's default). */
  allowedHosts: ReadonlySet<string>;
  /** True only for a configured loopback endpoint (sandbox, tests): then http is accepted. */
  allowHttp: boolean;
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
}

export interface ParsedProof {
  scheme: 'https' | 'http';
  /** The authority exactly as it must be sent in Host (lowercase host, optional :port). */
  host: string;
  params: ReadonlyMap<string, string>;
  accessKeyId: string;
  signedAt: Date;
  /** Until when the proof may be used (and its verification cached): the earlier of STS's and dab's bound. */
  usableUntil: Date;
}

/** Why a proof was refused: stable (metrics), and safe to show (never echoes the proof). */
export class ProofError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

const refuse = (reason: string, message: string): never => {
  throw new ProofError(reason, message);
};

/** Decodes and checks a proof against the rules; throws ProofError. No network. */
export function parseProof(bearer: string, rules: ProofRules, now: Date): ParsedProof {
  if (!bearer.startsWith(AWS_PROOF_PREFIX)) refuse('proof_malformed', 'the AWS proof must start with dab-aws-v1.');
  const encoded = bearer.slice(AWS_PROOF_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) refuse('proof_malformed', 'the AWS proof is not base64url');
  const url = Buffer.from(encoded, 'base64url').toString('latin1');
  // Non-canonical base64url (trailing bits) would make two bearer strings for one URL: refuse it.
  if (Buffer.from(url, 'latin1').toString('base64url') !== encoded) refuse('proof_malformed', 'the AWS proof is not canonical base64url');
  if (url.length > MAX_PROOF_URL_LENGTH) refuse('proof_too_long', `the AWS proof URL is longer than ${MAX_PROOF_URL_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(url)) refuse('proof_malformed', 'the AWS proof URL holds characters a URL cannot');

  const m = /^([a-z]+):\/\/([^/?#@\\]+)(\/[^?#]*)\?([^#]*)$/i.exec(url);
  if (!m) refuse('proof_malformed', 'the AWS proof is not an absolute URL with a query');
  const [, rawScheme = '', rawHost = '', path = '', query = ''] = m as RegExpExecArray;
  const scheme = rawScheme.toLowerCase();
  const host = rawHost.toLowerCase();
  if (!rules.allowedHosts.has(host)) refuse('proof_wrong_host', 'the AWS proof targets a host that is not an STS endpoint dab trusts');
  if (scheme !== 'https' && !(scheme === 'http' && rules.allowHttp)) refuse('proof_not_https', 'the AWS proof must use https');
  if (path !== '/') refuse('proof_wrong_path', 'the AWS proof path must be /');

  const params = parseParams(query);
  for (const name of REQUIRED) if (!params.has(name)) refuse('proof_missing_parameter', `the AWS proof lacks ${name}`);
  const get = (name: string) => params.get(name) as string;
  if (get('Action') !== 'GetCallerIdentity') refuse('proof_wrong_action', 'the AWS proof must be an sts:GetCallerIdentity request');
  if (get('Version') !== STS_VERSION) refuse('proof_wrong_version', `the AWS proof must use Version=${STS_VERSION}`);
  if (get('X-Amz-Algorithm') !== ALGORITHM) refuse('proof_malformed', `the AWS proof must be signed with ${ALGORITHM}`);
  if (get('X-Amz-SignedHeaders') !== SIGNED_HEADERS) {
    refuse('proof_server_id_unsigned', `the AWS proof must sign exactly the headers ${SIGNED_HEADERS} (it binds the proof to this dab)`);
  }
  if (!/^[0-9a-f]{64}$/.test(get('X-Amz-Signature'))) refuse('proof_malformed', 'the AWS proof signature is not 64 hex digits');

  const scope = /^([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]{1,32})\/sts\/aws4_request$/.exec(get('X-Amz-Credential'));
  if (!scope) refuse('proof_malformed', 'the AWS proof credential scope is not <key>/<date>/<region>/sts/aws4_request');
  const signedAt = parseAmzDate(get('X-Amz-Date'));
  if (!signedAt || get('X-Amz-Date').slice(0, 8) !== scope?.[2]) refuse('proof_malformed', 'the AWS proof X-Amz-Date is not a valid yyyymmddThhmmssZ of the credential day');
  const expires = /^[1-9]\d{0,5}$/.test(get('X-Amz-Expires')) ? Number(get('X-Amz-Expires')) : NaN;
  if (!(expires <= MAX_PROOF_EXPIRES_SECONDS)) refuse('proof_malformed', `the AWS proof X-Amz-Expires must be 1..${MAX_PROOF_EXPIRES_SECONDS}`);

  const signedMs = (signedAt as Date).getTime();
  const nowMs = now.getTime();
  if (signedMs > nowMs + rules.clockToleranceSeconds * 1000) refuse('proof_from_future', 'the AWS proof was signed in the future (X-Amz-Date is ahead of dab\'s clock)');
  const usableUntilMs = Math.min(signedMs + rules.maxAgeSeconds * 1000, signedMs + expires * 1000);
  // dab's own bound, by dab's clock: no tolerance added (clients sign a new proof a minute before).
  if (nowMs >= usableUntilMs) {
    refuse('proof_stale', `the AWS proof is too old: sign a new one (dab accepts proofs for ${Math.min(rules.maxAgeSeconds, expires)} s)`);
  }
  return { scheme: scheme as 'https' | 'http', host, params, accessKeyId: scope?.[1] as string, signedAt: signedAt as Date, usableUntil: new Date(usableUntilMs) };
}

/** The allowlisted query parameters, each exactly once; case-variant and repeated names refused. */
function parseParams(query: string): Map<string, string> {
  const params = new Map<string, string>();
  const seenLower = new Set<string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) refuse('proof_malformed', 'the AWS proof query has a parameter without a name or value');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(part.slice(0, eq));
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return refuse('proof_malformed', 'the AWS proof query is not valid percent-encoding');
    }
    const lower = name.toLowerCase();
    if (seenLower.has(lower)) refuse('proof_duplicate_parameter', `the AWS proof names ${name} more than once (in any letter case)`);
    seenLower.add(lower);
    if (!ALLOWED.has(name)) refuse('proof_unknown_parameter', `the AWS proof carries a parameter dab does not allow (${name.slice(0, 64)})`);
    params.set(name, value);
  }
  return params;
}

/** RFC 3986 escaping as SigV4 canonicalises it; any encoding the caller used signs the same. */
const escape = (value: string): string => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The request dab sends: built from the parsed values only, in a fixed order. */
export function rebuildProofUrl(proof: ParsedProof): URL {
  const query = [...REQUIRED, 'X-Amz-Security-Token']
    .filter((name) => proof.params.has(name))
    .map((name) => `${name}=${escape(proof.params.get(name) as string)}`)
    .join('&');
  return new URL(`${proof.scheme}://${proof.host}/?${query}`);
}

/** The STS hosts of a partition and regions: the global one (aws only) and each regional one. */
export function stsHostsFor(partition: string, regions: readonly string[]): Set<string> {
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  const hosts = new Set(regions.map((r) => `sts.${r}.${suffix}`));
  if (partition === 'aws') hosts.add('sts.amazonaws.com');
  return hosts;
}
