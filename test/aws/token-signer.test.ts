import t from 'tap';
import { reuseWithinSigningSecond, signToken, tokenSignedAt, type SignToken, type TokenRequest, type TokenSource } from '../../src/aws/token-signer.js';
import { rdsDbTarget } from '../../src/engines/rds-db/rds-db-token.js';
import type { AssumedCredentials } from '../../src/aws/sts-client.js';
import { librarySignAt } from './rds-signer-oracle.js';

const credentials = (id: string): AssumedCredentials => ({
  accessKeyId: `ASIA${id.padEnd(16, 'X')}`,
  secretAccessKey: `secret-${id}`.padEnd(40, 'x'),
  sessionToken: `session-token-${id}`,
  expiration: new Date(Date.now() + 3600_000),
});
const HOST = 'orders.abc.us-east-1.rds.amazonaws.com';
const request = (creds: AssumedCredentials, user = 'orders_ro', port = 5432): TokenRequest => ({ target: rdsDbTarget(HOST, port, user), region: 'us-east-1', credentials: creds });
/** The same request in @aws-sdk/rds-signer's terms. */
const libraryRequest = (creds: AssumedCredentials, user = 'orders_ro') => ({ host: HOST, port: 5432, user, region: 'us-east-1', credentials: creds });

/** A signer that stamps a controllable X-Amz-Date and counts its calls. */
function fakeSigner(clock: { ms: number }) {
  let calls = 0;
  const sign: SignToken = async ({ target, credentials: c }) => {
    calls++;
    const amzDate = new Date(clock.ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    return `h:5432/?Action=connect&DBUser=${target.params.DBUser}&X-Amz-Credential=${c.accessKeyId}&X-Amz-Date=${amzDate}&X-Amz-Signature=${calls}`;
  };
  return { sign, calls: () => calls };
}

t.test('tokenSignedAt reads X-Amz-Date, and nothing else', async (t) => {
  t.same(tokenSignedAt('h:1/?Action=connect&X-Amz-Date=20261201T172500Z&X-Amz-Expires=900'), new Date('2026-12-01T17:25:00Z'));
  t.equal(tokenSignedAt('h:1/?Action=connect&X-Amz-Expires=900'), undefined);
  t.equal(tokenSignedAt('h:1/?X-Amz-Date=2026-12-01'), undefined);
  t.equal(tokenSignedAt('h:1/?Not-X-Amz-Date=20261201T172500Z'), undefined, 'only the real parameter counts');
});

t.test('a token is reused only for the same session, user, endpoint and signing second', async (t) => {
  const clock = { ms: Date.parse('2026-12-01T17:25:00.100Z') };
  const fake = fakeSigner(clock);
  const sources: TokenSource[] = [];
  const sign = reuseWithinSigningSecond(fake.sign, (s) => sources.push(s), () => clock.ms);
  const alice = credentials('alice');

  const first = await sign(request(alice));
  clock.ms += 850; // 17:25:00.950: same second
  t.equal(await sign(request(alice)), first, 'same second: the same bytes');
  t.equal(fake.calls(), 1);

  t.not(await sign(request(credentials('alice'))), first, 'an equal-looking but different session object signs anew');
  t.not(await sign(request(alice, 'orders_rw')), first, 'another DB user signs anew');
  t.not(await sign(request(alice, 'orders_ro', 5433)), first, 'another endpoint signs anew');
  t.equal(fake.calls(), 4);

  clock.ms += 100; // 17:25:01.050: the next second
  const next = await sign(request(alice));
  t.not(next, first, 'a new second signs anew');
  t.same(tokenSignedAt(next), new Date('2026-12-01T17:25:01Z'));
  t.equal(await sign(request(alice)), next);
  t.same(sources, ['signed', 'reused', 'signed', 'signed', 'signed', 'signed', 'reused']);
});

t.test('a token without a readable signing time is never reused', async (t) => {
  let calls = 0;
  const sign = reuseWithinSigningSecond(async () => `opaque-${++calls}`);
  const creds = credentials('bob');
  t.equal(await sign(request(creds)), 'opaque-1');
  t.equal(await sign(request(creds)), 'opaque-2');
});

t.test('signing failures propagate and are not remembered', async (t) => {
  let fail = true;
  const sign = reuseWithinSigningSecond(async (r) => {
    if (fail) throw new Error('no credentials');
    return signToken(r);
  });
  const creds = credentials('carol');
  await t.rejects(sign(request(creds)), { message: 'no credentials' });
  fail = false;
  t.match(await sign(request(creds)), /X-Amz-Signature=[0-9a-f]{64}(&|$)/);
});

t.test('what is reused is exactly what rds-signer returns in that second', async (t) => {
  const sign = reuseWithinSigningSecond(signToken);
  const creds = credentials('dave');
  const reused = [await sign(request(creds)), await sign(request(creds))];
  const signedAt = tokenSignedAt(reused[0]!);
  // The library, pinned to the second the first token carries (a boundary between the calls re-signs).
  if (tokenSignedAt(reused[1]!)?.getTime() === signedAt?.getTime()) t.equal(reused[0], reused[1]);
  t.equal(reused[0], await librarySignAt(libraryRequest(creds), signedAt!.getTime()), 'byte-identical to rds-signer\'s token of that second');
});
