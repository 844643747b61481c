// SigV4 verification checked two ways: against AWS's published SigV4 test-suite
// vectors (header signing), and against real @aws-sdk/rds-signer tokens minted
// with session credentials from the STS emulator (presigned RDS tokens).
import t from 'tap';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Signer } from '@aws-sdk/rds-signer';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { deriveSigningKey, parseRdsAuthToken, verifyRdsAuthToken, verifySignedRequest, type CredentialLookup } from '../../src/sandbox/sigv4.js';
import { startStsEmulator } from '../../src/sandbox/sts-emulator.js';

t.test('deriveSigningKey matches the AWS documentation example', async (t) => {
  const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
  t.equal(key.toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
});

t.test('verifySignedRequest against the AWS SigV4 test suite', async (t) => {
  const lookup: CredentialLookup = (id) => (id === 'AKIDEXAMPLE' ? { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' } : undefined);
  const opts = { service: 'service', now: new Date('2015-08-30T12:36:00Z') };
  const auth = (signed: string, sig: string): string =>
    `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signed}, Signature=${sig}`;
  const request = (o: { method?: string; path?: string; query?: string; headers?: Record<string, string>; body?: string; signed?: string; sig: string }) => ({
    method: o.method ?? 'GET', path: o.path ?? '/', query: o.query ?? '', body: o.body ?? '',
    headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z', ...o.headers, authorization: auth(o.signed ?? 'host;x-amz-date', o.sig) },
  });

  const vectors = {
    'get-vanilla': request({ sig: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' }),
    'get-vanilla-query-order-key-case': request({ query: '?Param2=value2&Param1=value1', sig: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' }),
    'get-vanilla-query-unreserved': request({
      query: `${'-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'}=${'-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'}`,
      sig: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
    }),
    'get-utf8': request({ path: '/ሴ', sig: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' }),
    'get-space': request({ path: '/example space/', sig: '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741' }),
    'get-header-value-trim': request({
      headers: { 'my-header1': ' value1', 'my-header2': ' "a   b   c"' }, signed: 'host;my-header1;my-header2;x-amz-date',
      sig: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
    }),
    'post-x-www-form-urlencoded': request({
      method: 'POST', body: 'Param1=value1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, signed: 'content-type;host;x-amz-date',
      sig: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    }),
    // Same request as @smithy/signature-v4 signs it with applyChecksum (declared payload hash header).
    'content-sha256-header': request({
      headers: { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }, signed: 'host;x-amz-content-sha256;x-amz-date',
      sig: '726c5c4879a6b4ccbbd3b24edbd6b8826d34f87450fbbf4e85546fc7ba9c1642',
    }),
  };
  for (const [name, req] of Object.entries(vectors)) {
    t.same(verifySignedRequest(req, lookup, opts), { ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1' }, name);
  }

  const vanilla = vectors['get-vanilla'];
  const post = vectors['post-x-www-form-urlencoded'];
  type Req = Parameters<typeof verifySignedRequest>[0];
  const reject = (req: Req, reason: string, o: Partial<Parameters<typeof verifySignedRequest>[2]> = {}): void => {
    t.same(verifySignedRequest(req, lookup, { ...opts, ...o }), { ok: false, reason }, reason);
  };
  reject({ ...post, body: 'Param1=value2' }, 'signature_mismatch');
  reject({ ...vanilla, query: '?extra=1' }, 'signature_mismatch');
  reject({ ...vanilla, path: '/other' }, 'signature_mismatch');
  reject({ ...vanilla, headers: { ...vanilla.headers, host: 'evil.example.com' } }, 'signature_mismatch');
  reject({ ...vanilla, headers: { ...vanilla.headers, authorization: vanilla.headers.authorization.replace(/5fa0/, '5fa1') } }, 'signature_mismatch');
  reject({ ...vectors['content-sha256-header'], body: 'x' }, 'payload_hash_mismatch');
  reject({ ...vanilla, headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' } }, 'missing_authorization');
  reject(vanilla, 'wrong_service', { service: 'sts' });
  reject(vanilla, 'clock_skew', { now: new Date('2015-08-30T12:41:01Z') });
  t.ok(verifySignedRequest(vanilla, lookup, { ...opts, now: new Date('2015-08-30T12:41:00Z') }).ok, 'within 300 s skew');
  reject(vanilla, 'clock_skew', { now: new Date('2015-08-30T12:36:11Z'), maxSkewSeconds: 10 });
  t.same(verifySignedRequest(vanilla, () => undefined, opts), { ok: false, reason: 'unknown_access_key' });
  t.same(verifySignedRequest(vanilla, () => ({ secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'tok' }), opts),
    { ok: false, reason: 'session_token_mismatch' }, 'session credentials need their token');
});

t.test('verifyRdsAuthToken accepts real rds-signer tokens and rejects every tweak', async (t) => {
  const emu = await startStsEmulator({ roles: [{ arn: 'arn:aws:iam::111122223333:role/db-connect' }] });
  t.teardown(() => emu.close());
  const sts = new STSClient({
    endpoint: emu.url, region: 'us-east-1', credentials: emu.baseCredentials, maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true }),
  });
  t.teardown(() => sts.destroy());
  const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/db-connect', RoleSessionName: 'alice' }));
  const credentials = { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
  const expected = { host: 'db.internal.example', port: 5432, user: 'app_reader' };
  const token = await new Signer({ hostname: expected.host, port: expected.port, username: expected.user, region: 'eu-west-1', credentials }).getAuthToken();
  const lookup: CredentialLookup = (id) => emu.lookupCredentials(id);

  const parsed = parseRdsAuthToken(token)!;
  t.match(parsed, { ...expected, accessKeyId: credentials.accessKeyId, region: 'eu-west-1', service: 'rds-db', expiresSeconds: 900, securityToken: credentials.sessionToken });
  t.equal(parseRdsAuthToken('not a token'), undefined);
  const now = new Date(parsed.signedAt.getTime() + 1000);
  const verify = (tok: string, o: { exp?: Partial<typeof expected> & { region?: string }; now?: Date; lookup?: CredentialLookup; max?: number } = {}) =>
    verifyRdsAuthToken(tok, { ...expected, ...o.exp }, o.lookup ?? lookup, { now: o.now ?? now, ...(o.max ? { maxExpiresSeconds: o.max } : {}) });
  const at = (seconds: number): Date => new Date(parsed.signedAt.getTime() + seconds * 1000);

  t.same(verify(token), { ok: true, accessKeyId: credentials.accessKeyId, region: 'eu-west-1', signedAt: parsed.signedAt, expiresAt: at(900) });
  t.ok(verify(token, { exp: { region: 'eu-west-1' } }).ok, 'region matches when given');
  t.ok(verify(token, { now: at(-30) }).ok, 'small clock skew tolerated');
  t.ok(verify(token, { now: at(899) }).ok, 'valid until the last second');

  // Long-term keys (no session token) also work.
  const baseToken = await new Signer({ hostname: expected.host, port: expected.port, username: expected.user, region: 'eu-west-1', credentials: emu.baseCredentials }).getAuthToken();
  t.ok(verify(baseToken).ok, 'base credentials token');

  // Rewrites one query parameter (value already decoded), keeping everything else byte-identical.
  const tweak = (tok: string, name: string, value: string | undefined): string => {
    const [head, query] = tok.split('?') as [string, string];
    const parts = query.split('&').filter((p) => !p.startsWith(`${name}=`));
    if (value !== undefined) parts.push(`${name}=${encodeURIComponent(value)}`);
    return `${head}?${parts.join('&')}`;
  };
  const flipped = parsed.signature.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
  const nextSecond = parsed.amzDate.replace(/\d(?=Z$)/, (d) => String((Number(d) + 1) % 10));
  const scope = (region: string, service: string): string => `${credentials.accessKeyId}/${parsed.date}/${region}/${service}/aws4_request`;
  // [label, expected reason, token, verify options]
  const cases: [string, string, string, Parameters<typeof verify>[1]?][] = [
    ['tampered signature', 'signature_mismatch', tweak(token, 'X-Amz-Signature', flipped)],
    ['signing time moved', 'signature_mismatch', tweak(token, 'X-Amz-Date', nextSecond)],
    ['region in scope changed', 'signature_mismatch', tweak(token, 'X-Amz-Credential', scope('us-east-1', 'rds-db'))],
    ['expires shortened', 'signature_mismatch', tweak(token, 'X-Amz-Expires', '600')],
    ['expires raised within a larger cap', 'signature_mismatch', tweak(token, 'X-Amz-Expires', '1800'), { max: 3600 }],
    ['extra parameter', 'signature_mismatch', `${token}&Extra=1`],
    ['host case changed', 'signature_mismatch', token.replace(/^db\.internal\.example/, 'DB.internal.example')],
    ['DBUser swapped to match expectation', 'signature_mismatch', tweak(token, 'DBUser', 'admin'), { exp: { user: 'admin' } }],
    ['other user expected', 'wrong_user', token, { exp: { user: 'admin' } }],
    ['other host expected', 'wrong_host', token, { exp: { host: 'db2.internal.example' } }],
    ['other port expected', 'wrong_host', token, { exp: { port: 5433 } }],
    ['other region expected', 'wrong_region', token, { exp: { region: 'us-east-1' } }],
    ['service rds', 'wrong_service', tweak(token, 'X-Amz-Credential', scope('eu-west-1', 'rds'))],
    ['at expiry', 'expired', token, { now: at(900) }],
    ['an hour later', 'expired', token, { now: at(3600) }],
    ['signed in the future', 'not_yet_valid', token, { now: at(-61) }],
    ['expires 901', 'expires_too_long', tweak(token, 'X-Amz-Expires', '901')],
    ['expires 0', 'malformed', tweak(token, 'X-Amz-Expires', '0')],
    ['other action', 'malformed', tweak(token, 'Action', 'execute')],
    ['extra signed header', 'malformed', tweak(token, 'X-Amz-SignedHeaders', 'host;x-amz-date')],
    ['scheme not stripped', 'malformed', `https://${token}`],
    ['duplicate DBUser', 'malformed', `${token}&DBUser=app_reader`],
    ['bad percent-encoding', 'malformed', token.replace('X-Amz-Credential=', 'X-Amz-Credential=%ZZ')],
    ['empty', 'malformed', ''],
    ['unknown key', 'unknown_access_key', token, { lookup: () => undefined }],
    ['lookup has another token', 'session_token_mismatch', token, { lookup: (id) => ({ secretAccessKey: lookup(id)!.secretAccessKey, sessionToken: 'other' }) }],
    ['token stripped', 'session_token_mismatch', tweak(token, 'X-Amz-Security-Token', undefined)],
    ['token altered', 'session_token_mismatch', tweak(token, 'X-Amz-Security-Token', `${credentials.sessionToken}x`)],
    ['token added to long-term key', 'session_token_mismatch', tweak(baseToken, 'X-Amz-Security-Token', 'smuggled')],
  ];
  for (const [label, reason, tok, o] of cases) t.same(verify(tok, o), { ok: false, reason }, `${label} -> ${reason}`);
});
