// Drives the emulator with the real STSClient (no mocks) so it stays faithful
// to what the broker sees against AWS: Query protocol, SigV4, XML errors.
import t, { type Test } from 'tap';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startStsEmulator, type StsEmulator } from '../../src/sandbox/sts-emulator.js';

const ROLE = 'arn:aws:iam::111122223333:role/dab/app-readonly';
const EXT_ROLE = 'arn:aws:iam::111122223333:role/partner-role';
const NO_SI_ROLE = 'arn:aws:iam::111122223333:role/legacy-trust';

type Creds = { accessKeyId: string; secretAccessKey: string };
function client(t: Test, emu: StsEmulator, opts: { credentials?: Creds; requestTimeout?: number } = {}): STSClient {
  const c = new STSClient({
    endpoint: emu.url,
    region: 'us-east-1',
    credentials: opts.credentials ?? emu.baseCredentials,
    maxAttempts: 1,
    // @smithy/node-http-handler 4.x only *warns* on requestTimeout unless throwOnRequestTimeout is set.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: opts.requestTimeout ?? 3000, throwOnRequestTimeout: true }),
  });
  t.teardown(() => c.destroy());
  return c;
}

const assume = (c: STSClient, input: Partial<AssumeRoleCommandInput> = {}) =>
  c.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'dab-test', ...input }));

async function setup(t: Test): Promise<{ emu: StsEmulator; sts: STSClient; clock: { now: Date } }> {
  // A fake clock far from real time: expirations follow it, signature skew checks do not.
  const clock = { now: new Date('2030-01-01T00:00:00Z') };
  const emu = await startStsEmulator({
    now: () => clock.now,
    roles: [
      { arn: ROLE, maxSessionDurationSeconds: 7200 },
      { arn: EXT_ROLE, externalId: 'ext-123' },
      { arn: NO_SI_ROLE, requireSourceIdentityPermission: true },
    ],
  });
  t.teardown(() => emu.close());
  return { emu, sts: client(t, emu), clock };
}

t.test('AssumeRole succeeds with real STSClient', async (t) => {
  const { emu, sts, clock } = await setup(t);
  t.match(emu.baseCredentials.accessKeyId, /^AKIA[A-Z0-9]{16}$/);
  const out = await assume(sts, { DurationSeconds: 1800, SourceIdentity: 'alice@example.com' });
  const creds = out.Credentials!;
  t.match(creds.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
  t.equal(creds.Expiration?.toISOString(), '2030-01-01T00:30:00.000Z', 'expiration uses the injected clock');
  t.equal(out.SourceIdentity, 'alice@example.com');
  t.equal(out.AssumedRoleUser?.Arn, 'arn:aws:sts::111122223333:assumed-role/app-readonly/dab-test');
  t.match(out.AssumedRoleUser?.AssumedRoleId, /^AROA[A-Z0-9]{17}:dab-test$/);
  t.same(emu.lookupCredentials(creds.AccessKeyId!), { secretAccessKey: creds.SecretAccessKey, sessionToken: creds.SessionToken });
  t.equal(emu.findSession(creds.AccessKeyId!)?.sourceIdentity, 'alice@example.com');
  t.same(emu.lookupCredentials(emu.baseCredentials.accessKeyId), { secretAccessKey: emu.baseCredentials.secretAccessKey });
  t.equal(emu.lookupCredentials('ASIANOPE'), undefined);

  clock.now = new Date('2030-06-01T12:00:00Z');
  const second = await assume(sts, { Tags: [{ Key: 'team', Value: 'payments' }] });
  t.not(second.Credentials?.AccessKeyId, creds.AccessKeyId, 'distinct credentials per session');
  t.not(second.Credentials?.SessionToken, creds.SessionToken);
  t.equal(second.Credentials?.Expiration?.toISOString(), '2030-06-01T13:00:00.000Z', 'default duration 3600, clock re-read');
  t.type(second.PackedPolicySize, 'number');
  t.same(emu.findSession(second.Credentials!.AccessKeyId!)?.tags, { team: 'payments' });
  t.equal(emu.issuedSessions.length, 2);
  t.equal(emu.assumeRoleCalls, 2);
});

t.test('ExternalId and SourceIdentity trust conditions', async (t) => {
  const { emu, sts } = await setup(t);
  const ok = await assume(sts, { RoleArn: EXT_ROLE, ExternalId: 'ext-123' });
  t.equal(emu.findSession(ok.Credentials!.AccessKeyId!)?.externalId, 'ext-123');
  await t.rejects(assume(sts, { RoleArn: EXT_ROLE }), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'missing ExternalId');
  await t.rejects(assume(sts, { RoleArn: EXT_ROLE, ExternalId: 'ext-999' }), { name: 'AccessDenied' }, 'wrong ExternalId');
  await t.rejects(assume(sts, { RoleArn: NO_SI_ROLE, SourceIdentity: 'alice' }), { name: 'AccessDenied' }, 'no sts:SetSourceIdentity');
  t.ok(await assume(sts, { RoleArn: NO_SI_ROLE }), 'same role without SourceIdentity works');
  await t.rejects(assume(sts, { RoleArn: 'arn:aws:iam::111122223333:role/unknown' }), { name: 'AccessDenied' });
  t.equal(emu.assumeRoleCalls, 6);
  t.equal(emu.issuedSessions.length, 2);
});

t.test('a role whose trust policy lacks sts:SetSourceIdentity is refused the way AWS refuses it', async (t) => {
  const emu = await startStsEmulator({ roles: [{ arn: ROLE, allowSourceIdentity: false }, { arn: EXT_ROLE, externalId: 'ext-123', allowSourceIdentity: false }] });
  t.teardown(() => emu.close());
  const sts = client(t, emu);
  await t.rejects(assume(sts, { SourceIdentity: 'alice' }), {
    name: 'AccessDenied',
    message: `User: arn:aws:iam::123456789012:user/dab-broker is not authorized to perform: sts:SetSourceIdentity on resource: ${ROLE}`,
    $metadata: { httpStatusCode: 403 },
  });
  t.ok(await assume(sts), 'without SourceIdentity the same role can be assumed');
  // A wrong ExternalId is refused first, as sts:AssumeRole itself (no mention of SetSourceIdentity).
  await t.rejects(assume(sts, { RoleArn: EXT_ROLE, ExternalId: 'ext-999', SourceIdentity: 'alice' }), { name: 'AccessDenied', message: /perform: sts:AssumeRole on/ });
  await t.rejects(assume(sts, { RoleArn: EXT_ROLE, ExternalId: 'ext-123', SourceIdentity: 'alice' }), { name: 'AccessDenied', message: /perform: sts:SetSourceIdentity on/ });
  emu.addRole({ arn: ROLE, allowSourceIdentity: true });
  const ok = await assume(sts, { SourceIdentity: 'alice' });
  t.equal(ok.SourceIdentity, 'alice', 'allowed once the trust policy has it');
  t.equal(emu.issuedSessions.length, 2);
});

t.test('validation errors', async (t) => {
  const { emu, sts } = await setup(t);
  const bad: [string, Partial<AssumeRoleCommandInput>][] = [
    ['session name too short', { RoleSessionName: 'x' }],
    ['session name bad chars', { RoleSessionName: 'has space' }],
    ['source identity bad chars', { SourceIdentity: 'a/b' }],
    ['external id too short', { ExternalId: 'x' }],
    ['duration below 900', { DurationSeconds: 899 }],
    ['duration above role max', { DurationSeconds: 7201 }],
  ];
  for (const [name, input] of bad) {
    await t.rejects(assume(sts, input), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } }, name);
  }
  t.ok(await assume(sts, { DurationSeconds: 7200 }), 'role max itself is allowed');
  t.equal(emu.issuedSessions.length, 1);
});

t.test('signature checks', async (t) => {
  const { emu } = await setup(t);
  const wrongSecret = client(t, emu, { credentials: { ...emu.baseCredentials, secretAccessKey: 'not-the-secret' } });
  await t.rejects(assume(wrongSecret), { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
  const stranger = client(t, emu, { credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' } });
  await t.rejects(assume(stranger), { name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } });
  // Session credentials are not accepted for AssumeRole here: only the base pair signs.
  const { Credentials: c } = await assume(client(t, emu));
  const chained = client(t, emu, { credentials: { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey! } });
  await t.rejects(assume(chained), { name: 'InvalidClientTokenId' });

  const unsigned = await fetch(emu.url, { method: 'POST', body: 'Action=AssumeRole&Version=2011-06-15' });
  t.equal(unsigned.status, 403);
  t.match(await unsigned.text(), /<Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
  await t.rejects(client(t, emu).send(new GetCallerIdentityCommand({})), { name: 'InvalidAction', $metadata: { httpStatusCode: 400 } });
  t.equal(emu.issuedSessions.length, 1);
  t.equal(emu.assumeRoleCalls, 5, 'rejected AssumeRole requests are counted; other actions are not');
});

t.test('injected faults surface as the SDK errors the broker must handle', async (t) => {
  const { emu, sts } = await setup(t);
  emu.injectFault('throttle');
  await t.rejects(assume(sts), { name: 'Throttling', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
  emu.injectFault('server_error');
  await t.rejects(assume(sts), { name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
  emu.injectFault('access_denied');
  await t.rejects(assume(sts), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  emu.injectFault('malformed');
  await t.rejects(assume(sts), { message: /Deserialization error/ }, 'truncated XML is a deserialization error');
  t.ok(await assume(sts), 'faults are one-shot by default');

  emu.injectFault('throttle', 2);
  await t.rejects(assume(sts), { name: 'Throttling' });
  await t.rejects(assume(sts), { name: 'Throttling' });
  t.ok(await assume(sts));
  emu.injectFault('server_error', Infinity);
  await t.rejects(assume(sts), { name: 'InternalFailure' });
  await t.rejects(assume(sts), { name: 'InternalFailure' });
  emu.clearFaults();
  t.ok(await assume(sts));
  t.equal(emu.assumeRoleCalls, 11);
});

t.test('hang fault times out the client and close() does not hang', async (t) => {
  const emu = await startStsEmulator({ roles: [{ arn: ROLE }] });
  t.teardown(() => emu.close()); // safe to call twice
  const sts = client(t, emu, { requestTimeout: 300 });
  emu.injectFault('hang');
  const started = Date.now();
  await t.rejects(assume(sts), { name: 'TimeoutError' });
  t.ok(Date.now() - started < 2000, 'gave up after ~requestTimeout');
  // A second hung request still pending when we close.
  emu.injectFault('hang');
  const pending = assume(client(t, emu, { requestTimeout: 60_000 })).catch((e: unknown) => e);
  await new Promise((r) => setTimeout(r, 100));
  await emu.close();
  t.ok((await pending) instanceof Error, 'pending request fails once the emulator closes');
  t.equal(emu.assumeRoleCalls, 2);
});
