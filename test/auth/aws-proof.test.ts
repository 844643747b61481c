import t from 'tap';
import { APP, APP_ROLE, identity, presignedUrl, proofOf, SERVER_ID, signedProof, startAwsHarness, urlOf } from '../support/aws-callers.js';

// The hostile-proof table (issue 12): every check dab makes on an AWS proof, each with a proof
// that only that check stops. Checks made before STS is asked assert STS was never called, so
// each case fails if its own check is removed (the emulator might refuse it too, but later).

const h = await startAwsHarness(t);
const endpoint = h.config.sts.endpoint as string;
await h.registerOrders();
await h.app.inject({ method: 'POST', url: '/v1/mappings', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { principal: { aws: APP_ROLE }, database: 'orders', levels: ['ro'] } });

const grant = (proof: string) => h.grant(proof, { database: 'orders', access: 'ro' });
const minutes = (n: number) => new Date(Date.now() + n * 60_000);
/** Rewrites the query of a (validly signed) URL: the signature no longer covers what it says. */
const rewrite = (url: string, edit: (query: string) => string) => {
  const at = url.indexOf('?');
  return url.slice(0, at + 1) + edit(url.slice(at + 1));
};

t.test('a proof signed with only AWS credentials gets a token', async (t) => {
  const res = await grant(await signedProof({ endpoint }));
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().user, 'orders_ro');
});

interface Case { name: string; proof: () => Promise<string>; detail: RegExp; reachesSts?: boolean }
const cases: Case[] = [
  { name: 'another host', proof: async () => signedProof({ endpoint: endpoint.replace('127.0.0.1', '127.0.0.2') }), detail: /not an STS endpoint dab trusts/ },
  { name: 'a userinfo trick in the host', proof: async () => proofOf((await presignedUrl({ endpoint })).replace('://', '://evil.example@')), detail: /not an absolute URL/ },
  { name: 'another path', proof: async () => signedProof({ endpoint, path: '/admin' }), detail: /path must be \// },
  { name: 'another action', proof: async () => signedProof({ endpoint, query: { Action: 'AssumeRole', Version: '2011-06-15' } }), detail: /must be an sts:GetCallerIdentity/ },
  { name: 'another version', proof: async () => signedProof({ endpoint, query: { Action: 'GetCallerIdentity', Version: '2010-05-08' } }), detail: /Version=2011-06-15/ },
  { name: 'an extra signed parameter', proof: async () => signedProof({ endpoint, query: { Action: 'GetCallerIdentity', Version: '2011-06-15', RoleArn: 'arn:aws:iam::1:role/x' } }), detail: /parameter dab does not allow \(RoleArn\)/ },
  { name: 'a repeated parameter', proof: async () => proofOf(rewrite(await presignedUrl({ endpoint }), (q) => `${q}&Action=GetCallerIdentity`)), detail: /names Action more than once/ },
  { name: 'a case-variant duplicate', proof: async () => proofOf(rewrite(await presignedUrl({ endpoint }), (q) => `${q}&action=AssumeRole`)), detail: /names action more than once/ },
  { name: 'no server-id header signed', proof: async () => signedProof({ endpoint, serverId: null }), detail: /sign exactly the headers host;x-dab-server-id/ },
  { name: 'another header signed too', proof: async () => signedProof({ endpoint, extraHeaders: { 'x-forwarded-host': 'evil' } }), detail: /sign exactly the headers/ },
  { name: 'signed 10 minutes ago', proof: async () => signedProof({ endpoint, signedAt: minutes(-10), expiresIn: 900 }), detail: /too old/ },
  { name: 'signed 10 minutes ahead', proof: async () => signedProof({ endpoint, signedAt: minutes(10) }), detail: /signed in the future/ },
  { name: 'X-Amz-Expires beyond 900 s', proof: async () => signedProof({ endpoint, expiresIn: 3600 }), detail: /X-Amz-Expires must be 1\.\.900/ },
  { name: 'an overlong URL', proof: async () => signedProof({ endpoint, creds: { ...APP, sessionToken: 'x'.repeat(9000) } }), detail: /longer than 8192/ },
  { name: 'not base64url', proof: async () => 'dab-aws-v1.a+b/c', detail: /not base64url/ },
  // "eB" decodes to the same byte as "eA": two bearer strings for one URL would split the cache key.
  { name: 'non-canonical base64url', proof: async () => 'dab-aws-v1.eB', detail: /not canonical base64url/ },
  { name: 'a forged signature', proof: async () => proofOf(rewrite(await presignedUrl({ endpoint }), (q) => q.replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`))), detail: /STS refused the AWS proof \(SignatureDoesNotMatch\)/, reachesSts: true },
  { name: 'a tampered parameter', proof: async () => proofOf(rewrite(await presignedUrl({ endpoint }), (q) => q.replace('X-Amz-Expires=300', 'X-Amz-Expires=299'))), detail: /SignatureDoesNotMatch/, reachesSts: true },
  { name: 'a proof made for another dab (server id replay)', proof: async () => signedProof({ endpoint, serverId: 'other-dab' }), detail: /SignatureDoesNotMatch/, reachesSts: true },
  { name: 'credentials STS does not know', proof: async () => signedProof({ endpoint, creds: identity(APP_ROLE) }), detail: /InvalidClientTokenId/, reachesSts: true },
];

for (const c of cases) {
  t.test(`refused with 401: ${c.name}`, async (t) => {
    const proof = await c.proof();
    const before = h.sts.callerIdentityCalls;
    const res = await grant(proof);
    t.equal(res.statusCode, 401, res.body);
    t.equal(res.json().code, 'unauthenticated');
    t.match(res.json().detail, c.detail);
    t.match(String(res.headers['www-authenticate']), /^Bearer realm="dab", error="invalid_token"/);
    t.equal(h.sts.callerIdentityCalls - before, c.reachesSts ? 1 : 0, c.reachesSts ? 'STS decided' : 'refused before asking STS');
    t.notMatch(JSON.stringify(h.logs), proof.slice(11, 60), 'the proof is not logged');
  });
}

t.test('dab sends its own server id, never the one the proof was made for', async (t) => {
  const seen = h.sts.serverIdsSeen.length;
  await grant(await signedProof({ endpoint, serverId: 'other-dab' }));
  t.same(h.sts.serverIdsSeen.slice(seen), [SERVER_ID]);
});

t.test('expired credentials are refused by STS, so by dab', async (t) => {
  // A session the emulator issued, then let lapse: STS answers ExpiredToken.
  const { createAssumeRole } = await import('../../src/aws/sts-client.js');
  const aws = createAssumeRole(h.config.sts, h.sts.baseCredentials);
  t.teardown(() => aws.destroy());
  const session = await aws.assumeRole({ roleArn: 'arn:aws:iam::123456789012:role/orders-ro', externalId: 'ext-orders-7f3a9c', roleSessionName: 'expiring', durationSeconds: 900 });
  const issued = h.sts.findSession(session.accessKeyId);
  if (!issued) throw new Error('the emulator did not record the session');
  const creds = { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken };
  issued.expiration = new Date(Date.now() - 1000);
  const refused = await grant(await signedProof({ endpoint, creds }));
  t.equal(refused.statusCode, 401);
  t.match(refused.json().detail, /ExpiredToken/);
});

t.test('a verified proof is reused from the cache: one STS call, however many requests', async (t) => {
  // An X-Amz-Expires no other test uses, so no earlier test has cached the same proof.
  const proof = await signedProof({ endpoint, expiresIn: 297 });
  const before = h.sts.callerIdentityCalls;
  for (let i = 0; i < 3; i++) t.equal((await grant(proof)).statusCode, 200);
  t.equal(h.sts.callerIdentityCalls - before, 1);
  t.equal((await grant(await signedProof({ endpoint, expiresIn: 298 }))).statusCode, 200, 'another proof');
  t.equal(h.sts.callerIdentityCalls - before, 2, 'is verified on its own');
});

t.test('a cached proof is not used beyond its freshness bound', async (t) => {
  const proof = await signedProof({ endpoint, expiresIn: 299 });
  t.equal((await grant(proof)).statusCode, 200);
  h.clock.offsetMs = 300_000; // its bound: 299 s after signing
  t.teardown(() => void (h.clock.offsetMs = 0));
  const res = await grant(proof);
  t.equal(res.statusCode, 401);
  t.match(res.json().detail, /too old/);
});

t.test('the STS URL in the proof is what STS verified: decoding gives it back', async (t) => {
  const url = await presignedUrl({ endpoint });
  t.equal(urlOf(proofOf(url)), url);
  t.match(url, /X-Amz-SignedHeaders=host%3Bx-dab-server-id/);
});
