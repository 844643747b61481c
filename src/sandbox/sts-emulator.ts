// A local STS speaking the real AWS Query protocol (form-encoded POST, XML out),
// so the unmodified @aws-sdk/client-sts can be pointed at it via `endpoint`.
// Every request is SigV4-verified, so signing bugs in the broker surface in tests.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyPresignedRequest, verifySignedRequest } from './sigv4.js';
import { callerIdentityResponse, identityFaultResponse, type IdentityFault } from './sts-caller-identity.js';
import { checkName, errorDocument, isoSeconds, notNull, parseTags, randomId, randomSecret, StsError, validationError, XMLNS, xml } from './sts-query-protocol.js';

export interface StsRole {
  arn: string;
  externalId?: string;
  maxSessionDurationSeconds?: number;
  /**
   * false: the role's trust policy lacks sts:SetSourceIdentity, so AssumeRole with a SourceIdentity
   * is denied as AWS denies it (AccessDenied naming sts:SetSourceIdentity). Default true.
   */
  allowSourceIdentity?: boolean;
  /** The same as allowSourceIdentity: false (older name). */
  requireSourceIdentityPermission?: boolean;
}
export interface IssuedSession {
  accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date;
  roleArn: string; roleSessionName: string; sourceIdentity?: string; externalId?: string; issuedAt: Date;
  tags?: Record<string, string>;
}
export type StsFault = 'throttle' | 'server_error' | 'access_denied' | 'malformed' | 'hang';
/** Long-lived (or instance-profile style, with a session token) credentials and who STS says they are. */
export interface BaseCredentials {
  accessKeyId: string; secretAccessKey: string; sessionToken?: string;
  /** GetCallerIdentity's Arn for them (default arn:aws:iam::<accountId>:user/dab-broker). */
  arn?: string;
}
export interface StsEmulatorOptions {
  host?: string; port?: number; baseCredentials?: BaseCredentials[];
  roles?: StsRole[]; now?: () => Date; accountId?: string;
}
export interface StsEmulator {
  readonly url: string;
  readonly baseCredentials: { accessKeyId: string; secretAccessKey: string };
  addRole(role: StsRole): void;
  injectFault(fault: StsFault, times?: number): void;
  clearFaults(): void;
  readonly assumeRoleCalls: number;
  /** GetCallerIdentity requests received (answered or not). */
  readonly callerIdentityCalls: number;
  /** The x-dab-server-id header of each GetCallerIdentity request received. */
  readonly serverIdsSeen: readonly string[];
  injectIdentityFault(fault: IdentityFault, times?: number): void;
  readonly issuedSessions: IssuedSession[];
  lookupCredentials(accessKeyId: string): { secretAccessKey: string; sessionToken?: string } | undefined;
  findSession(accessKeyId: string): IssuedSession | undefined;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startStsEmulator(opts: StsEmulatorOptions = {}): Promise<StsEmulator> {
  const now = opts.now ?? (() => new Date());
  const defaultAccount = opts.accountId ?? '123456789012';
  const baseCreds = opts.baseCredentials?.length
    ? opts.baseCredentials.map((c) => ({ ...c }))
    : [{ accessKeyId: randomId('AKIA', 16), secretAccessKey: randomSecret() }];
  const roles = new Map<string, { role: StsRole; roleId: string }>();
  const sessions = new Map<string, IssuedSession>();
  const issued: IssuedSession[] = [];
  const faults: { fault: StsFault; remaining: number }[] = [];
  let assumeRoleCalls = 0;

  const addRole = (role: StsRole): void => void roles.set(role.arn, { role: { ...role }, roleId: randomId('AROA', 17) });
  for (const role of opts.roles ?? []) addRole(role);

  const baseLookup = (akid: string): { secretAccessKey: string; sessionToken?: string } | undefined => {
    const c = baseCreds.find((b) => b.accessKeyId === akid);
    return c && { secretAccessKey: c.secretAccessKey, ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}) };
  };
  const identityFaults: { fault: IdentityFault; remaining: number }[] = [];
  let callerIdentityCalls = 0;
  const serverIdsSeen: string[] = [];

  /**
   * GET /?Action=GetCallerIdentity presigned, as dab rebuilds an AWS caller's proof: the query
   * signature and every signed header (x-dab-server-id among them) checked, as STS checks them.
   */
  function getCallerIdentity(req: IncomingMessage, res: ServerResponse, url: URL): void {
    callerIdentityCalls++;
    serverIdsSeen.push(String(req.headers['x-dab-server-id'] ?? ''));
    const head = identityFaults[0];
    if (head) {
      if (--head.remaining <= 0) identityFaults.shift();
      const faulty = identityFaultResponse(head.fault);
      if (faulty === 'hang') return;
      res.writeHead(faulty.status, faulty.headers);
      res.end(faulty.body);
      return;
    }
    const result = verifyPresignedRequest(
      { method: 'GET', path: url.pathname, query: url.search, headers: req.headers },
      (akid) => sessions.get(akid) ?? baseLookup(akid),
      { service: 'sts', now: new Date() },
    );
    if (!result.ok) {
      if (result.reason === 'unknown_access_key') throw new StsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      if (result.reason === 'expired') throw new StsError(403, 'AccessDenied', 'Request has expired');
      throw new StsError(403, 'SignatureDoesNotMatch', `The request signature we calculated does not match the signature you provided. (${result.reason})`);
    }
    const params = result.params;
    if (params.get('Action') !== 'GetCallerIdentity' || params.get('Version') !== '2011-06-15') {
      throw new StsError(400, 'InvalidAction', `Could not find operation ${params.get('Action') ?? ''} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
    }
    const session = sessions.get(result.accessKeyId);
    if (session && session.expiration.getTime() <= now().getTime()) throw new StsError(403, 'ExpiredToken', 'The security token included in the request is expired');
    const base = baseCreds.find((b) => b.accessKeyId === result.accessKeyId);
    const account = session ? session.roleArn.split(':')[4] || defaultAccount : defaultAccount;
    const arn = session
      ? `arn:aws:sts::${account}:assumed-role/${session.roleArn.split('/').pop() ?? ''}/${session.roleSessionName}`
      : base?.arn ?? `arn:aws:iam::${defaultAccount}:user/dab-broker`;
    send(res, 200, callerIdentityResponse(arn, session ? `${roles.get(session.roleArn)?.roleId ?? 'AROA'}:${session.roleSessionName}` : `AIDA${result.accessKeyId.slice(4)}`));
  }

  function takeFault(): StsFault | undefined {
    const head = faults[0];
    if (!head) return undefined;
    if (--head.remaining <= 0) faults.shift();
    return head.fault;
  }

  function authenticate(req: IncomingMessage, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The SDK always signs with the real clock, so skew is judged against it (not the injectable `now`).
    const result = verifySignedRequest(
      { method: req.method ?? 'POST', path: url.pathname, query: url.search, headers: req.headers, body },
      baseLookup,
      { service: 'sts', now: new Date() },
    );
    if (result.ok) return;
    if (result.reason === 'missing_authorization') throw new StsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    if (result.reason === 'unknown_access_key') throw new StsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    throw new StsError(403, 'SignatureDoesNotMatch',
      `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. (${result.reason})`);
  }

  function assumeRole(params: URLSearchParams): string {
    const roleArn = params.get('RoleArn') ?? undefined;
    const externalId = params.get('ExternalId') ?? undefined;
    const durationText = params.get('DurationSeconds') ?? undefined;
    // Static validation first, as AWS does, before looking at the role.
    if (roleArn === undefined) throw notNull('roleArn');
    if (roleArn.length < 20 || roleArn.length > 2048) throw validationError(`Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048`);
    const sessionName = checkName('roleSessionName', params.get('RoleSessionName') ?? undefined);
    if (sessionName === undefined) throw notNull('roleSessionName');
    const sourceIdentity = checkName('sourceIdentity', params.get('SourceIdentity') ?? undefined);
    if (externalId !== undefined && (externalId.length < 2 || externalId.length > 1224 || !/^[\w+=,.@:/-]+$/.test(externalId))) {
      throw validationError(`Value '${externalId}' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224`);
    }
    const duration = durationText === undefined ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      throw validationError(`Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
    }
    const tags = parseTags(params);

    const entry = roles.get(roleArn);
    const denied = (action = 'sts:AssumeRole'): StsError => new StsError(403, 'AccessDenied',
      `User: arn:aws:iam::${defaultAccount}:user/dab-broker is not authorized to perform: ${action} on resource: ${roleArn}`);
    if (!entry) throw denied();
    const { role, roleId } = entry;
    if (role.externalId !== undefined && externalId !== role.externalId) throw denied();
    // AWS evaluates sts:SetSourceIdentity as its own action and names it when the trust policy lacks it.
    if (sourceIdentity !== undefined && (role.allowSourceIdentity === false || role.requireSourceIdentityPermission)) throw denied('sts:SetSourceIdentity');
    if (duration > (role.maxSessionDurationSeconds ?? 3600)) {
      throw new StsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    const issuedAt = now();
    const session: IssuedSession = {
      accessKeyId: randomId('ASIA', 16),
      secretAccessKey: randomSecret(),
      // Real tokens are long base64 with + / =, which exercises URL-encoding in callers.
      sessionToken: `FwoGZXIvYXdzE${randomBytes(180).toString('base64')}`,
      expiration: new Date(issuedAt.getTime() + duration * 1000),
      roleArn, roleSessionName: sessionName, issuedAt,
      ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
      ...(externalId !== undefined ? { externalId } : {}),
      ...(tags ? { tags } : {}),
    };
    sessions.set(session.accessKeyId, session);
    issued.push(session);

    const account = roleArn.split(':')[4] || defaultAccount;
    const roleName = roleArn.split('/').pop() ?? roleArn;
    const packed = tags ? Math.min(100, Math.ceil(JSON.stringify(tags).length / 8)) : undefined;
    return `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult>`
      + (sourceIdentity !== undefined ? `<SourceIdentity>${xml(sourceIdentity)}</SourceIdentity>` : '')
      + `<AssumedRoleUser><AssumedRoleId>${roleId}:${xml(session.roleSessionName)}</AssumedRoleId>`
      + `<Arn>arn:aws:sts::${xml(account)}:assumed-role/${xml(roleName)}/${xml(session.roleSessionName)}</Arn></AssumedRoleUser>`
      + `<Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${xml(session.secretAccessKey)}</SecretAccessKey>`
      + `<SessionToken>${xml(session.sessionToken)}</SessionToken><Expiration>${isoSeconds(session.expiration)}</Expiration></Credentials>`
      + (packed !== undefined ? `<PackedPolicySize>${packed}</PackedPolicySize>` : '')
      + `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
  }

  function send(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
  const sendError = (res: ServerResponse, e: StsError): void => send(res, e.status, errorDocument(e.code, e.message, e.type));

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.searchParams.has('X-Amz-Signature')) return getCallerIdentity(req, res, url);
    const params = new URLSearchParams(body.toString('utf8'));
    const action = params.get('Action');
    if (action === 'AssumeRole') {
      assumeRoleCalls++;
      // Faults pre-empt everything so "the next N AssumeRole calls" fail deterministically.
      const fault = takeFault();
      if (fault === 'hang') return; // never answer; close() destroys the socket
      if (fault === 'malformed') return send(res, 200, `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult><Credentials><AccessKeyId>ASIA`);
      if (fault === 'throttle') throw new StsError(400, 'Throttling', 'Rate exceeded');
      if (fault === 'server_error') throw new StsError(500, 'InternalFailure', 'An internal error occurred.', 'Receiver');
      if (fault === 'access_denied') throw new StsError(403, 'AccessDenied', 'User is not authorized to perform: sts:AssumeRole');
    }
    if (req.method !== 'POST') throw new StsError(400, 'InvalidAction', 'This emulator only accepts POST requests.');
    authenticate(req, body);
    if (!action) throw new StsError(400, 'MissingAction', 'Missing Action');
    const version = params.get('Version');
    if (action !== 'AssumeRole' || version !== '2011-06-15') {
      throw new StsError(400, 'InvalidAction', `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`);
    }
    send(res, 200, assumeRole(params));
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (e) {
        sendError(res, e instanceof StsError ? e : new StsError(500, 'InternalFailure', String(e), 'Receiver'));
      }
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    baseCredentials: { ...baseCreds[0]! },
    addRole,
    injectFault(fault: StsFault, times = 1): void {
      if (times > 0) faults.push({ fault, remaining: times });
    },
    clearFaults: (): void => void ((faults.length = 0), (identityFaults.length = 0)),
    get assumeRoleCalls() { return assumeRoleCalls; },
    get callerIdentityCalls() { return callerIdentityCalls; },
    get serverIdsSeen() { return [...serverIdsSeen]; },
    injectIdentityFault(fault: IdentityFault, times = 1): void {
      if (times > 0) identityFaults.push({ fault, remaining: times });
    },
    get issuedSessions() { return [...issued]; },
    lookupCredentials(accessKeyId: string) {
      const s = sessions.get(accessKeyId);
      return s ? { secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken } : baseLookup(accessKeyId);
    },
    findSession: (accessKeyId: string) => sessions.get(accessKeyId),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // includes hung requests and idle keep-alive sockets
    }),
  };
}
