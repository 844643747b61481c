import { request } from 'node:http';
import t from 'tap';
import { startStsEmulator } from '../../src/sandbox/sts-emulator.js';
import { APP, presignedUrl, SERVER_ID } from '../support/aws-callers.js';

// The emulator's GetCallerIdentity is the STS dab's AWS callers are verified against in tests and
// the sandbox: it checks the presigned request's signature over every signed header (the server id
// among them), as STS does, and answers for no other action.

const emu = await startStsEmulator({ baseCredentials: [{ accessKeyId: 'AKIADABBROKER0000001', secretAccessKey: 'broker-secret' }, APP] });
t.teardown(() => emu.close());

function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const host = new URL(emu.url).host;

t.test('a correctly signed request gets the caller\'s identity', async (t) => {
  const res = await get(await presignedUrl({ endpoint: emu.url }), { host, 'x-dab-server-id': SERVER_ID });
  t.equal(res.status, 200);
  t.match(res.body, /<GetCallerIdentityResult>\s*<Arn>arn:aws:sts::222222222222:assumed-role\/demo-ec2-app\/i-0123456789abcdef0<\/Arn>\s*<UserId>AIDA[^<]+<\/UserId>\s*<Account>222222222222<\/Account>/);
});

t.test('a signed header sent with another value, or not sent, fails the signature', async (t) => {
  const url = await presignedUrl({ endpoint: emu.url });
  t.match(await get(url, { host, 'x-dab-server-id': 'another-dab' }), { status: 403, body: /SignatureDoesNotMatch.*signature_mismatch/ });
  t.match(await get(url, { host }), { status: 403, body: /SignatureDoesNotMatch.*missing_signed_header/ });
});

t.test('any other action is refused, even correctly signed', async (t) => {
  const url = await presignedUrl({ endpoint: emu.url, query: { Action: 'AssumeRole', Version: '2011-06-15' } });
  t.match(await get(url, { host, 'x-dab-server-id': SERVER_ID }), { status: 400, body: /InvalidAction/ });
});

t.test('an expired presigned URL and unknown credentials are refused', async (t) => {
  const old = await presignedUrl({ endpoint: emu.url, signedAt: new Date(Date.now() - 120_000), expiresIn: 60 });
  t.match(await get(old, { host, 'x-dab-server-id': SERVER_ID }), { status: 403, body: /Request has expired/ });
  const unknown = await presignedUrl({ endpoint: emu.url, creds: { ...APP, accessKeyId: 'ASIAUNKNOWN000000000' } });
  t.match(await get(unknown, { host, 'x-dab-server-id': SERVER_ID }), { status: 403, body: /InvalidClientTokenId/ });
  t.equal(emu.callerIdentityCalls, 6, 'every GetCallerIdentity request is counted');
});
