// What went wrong in a preflight step, said so a DBA knows what to change. Messages name roles, users
// and ARNs, never the ExternalId, a token or STS credentials (AWS's own text is scrubbed of them).

const STS_TRANSIENT = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TimeoutError', 'AbortError', 'RequestTimeout', 'ServiceUnavailable', 'InternalFailure']);
const DAB_CREDENTIALS = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException', 'UnrecognizedClientException', 'CredentialsProviderError']);
const NETWORK = /^(?:ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EADDRNOTAVAIL)$/;

export interface StsExplainContext {
  roleArn: string;
  /** dab's principal as the trust policy should name it (config sts.brokerRoleArn), when known. */
  broker?: string | undefined;
  hasExternalId: boolean;
  database: string;
  /** Values that must never be echoed, e.g. the ExternalId (AWS repeats it in validation errors). */
  secrets: readonly string[];
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out.replace(/\s+/g, ' ').trim().slice(0, 400);
}

/** One sentence for a failed AssumeRole. */
export function explainStsFailure(err: unknown, ctx: StsExplainContext): string {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const aws = e.message ? ` (STS said: ${scrub(e.message, ctx.secrets)})` : '';
  const bootstrap = `compare it with GET /v1/databases/${ctx.database}/bootstrap`;
  const principal = ctx.broker ? `dab's principal ${ctx.broker}` : "dab's principal (the role dab runs as)";
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    if (/sts:SetSourceIdentity/i.test(e.message ?? '')) {
      return `the trust policy of ${ctx.roleArn} lacks sts:SetSourceIdentity for ${principal}: dab sets SourceIdentity (config sts.setSourceIdentity), so add a statement allowing it; ${bootstrap}${aws}`;
    }
    const externalId = ctx.hasExternalId
      ? 'and require exactly the ExternalId registered for this database (sts:ExternalId; a mismatch is refused the same way)'
      : 'and, if it requires an ExternalId, that ExternalId must be registered on this database';
    return `STS refused AssumeRole on ${ctx.roleArn}: its trust policy must name ${principal} ${externalId}; ${bootstrap}${aws}`;
  }
  if (STS_TRANSIENT.has(name) || (e.$metadata?.httpStatusCode ?? 0) >= 500 || NETWORK.test(e.code ?? '')) {
    return `STS was unavailable or throttling (${name}): nothing was learnt about ${ctx.roleArn}; retry later`;
  }
  if (DAB_CREDENTIALS.has(name)) {
    return `STS did not accept dab's own AWS credentials (${name}): check dab's credentials, sts.region and sts.endpoint; nothing was learnt about ${ctx.roleArn}`;
  }
  if (name === 'RegionDisabledException') return `STS is not activated in dab's sts.region for the account of ${ctx.roleArn} (${name})${aws}`;
  if (name === 'ValidationError') return `STS rejected the AssumeRole request for ${ctx.roleArn} as invalid${aws}`;
  return `AssumeRole on ${ctx.roleArn} failed (${name})${aws}`;
}

export interface UnreachableContext {
  host: string;
  port: number;
  timeoutMs: number;
  secrets: readonly string[];
  /** What to trust or register when the server's certificate does not verify. */
  tlsHint: string;
}

const TLS_VERIFY = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH/;

/**
 * The part of a failed login every engine explains alike: dab cannot reach the server ("skipped":
 * not the database's fault), or its certificate does not verify. Undefined for anything else,
 * which the engine explains in its own terms.
 */
export function explainConnectFailure(err: unknown, ctx: UnreachableContext, answered = false): LoginOutcomeOf<'failed' | 'skipped'> | undefined {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const text = scrub(e.message ?? String(err), ctx.secrets);
  const where = `${ctx.host}:${ctx.port}`;
  if (NETWORK.test(code)) {
    return { status: 'skipped', message: `not reachable from dab: ${code} connecting to ${where} (DNS, routing or a security group); run the check from where dab can reach the database` };
  }
  if (/timeout/i.test(text) && !answered) {
    return { status: 'skipped', message: `not reachable from dab: no answer from ${where} within ${ctx.timeoutMs / 1000} s (a security group or firewall dropping packets?)` };
  }
  if (TLS_VERIFY.test(code)) {
    return { status: 'failed', message: `TLS: the certificate of ${where} could not be verified (${code}): ${ctx.tlsHint}` };
  }
  return undefined;
}

export interface LoginOutcomeOf<S extends string> {
  status: S;
  message: string;
}
