import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { createServer, type OutgoingHttpHeaders } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import t, { type Test } from 'tap';
import { AUDITOR_SUBJECT, startHarness, type Harness } from '../support/harness.js';

const BODY = { database: 'orders', access: 'ro' };
const SUBJECT = 'app-orders';
const nowSeconds = () => Math.floor(Date.now() / 1000);
// error_description may not contain '"' or '\\' (RFC 6750 §3), or the quoted-string breaks.
const CHALLENGE = /^Bearer realm="dab"(, error="[a-z_]+"(, error_description="[\x20\x21\x23-\x5B\x5D-\x7E]*")?)?$/;
const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

// Every bearer token sent and every harness's log lines: the last test proves none leaked.
const usedTokens = new Set<string>();
const allLogs: string[][] = [];
const use = (token: string) => (usedTokens.add(token), token);

type Tap = Test;

/** A key pair of our own, optionally published as a second trusted issuer (for claims the harness issuer always sets). */
async function ownKey(t: Tap) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'own-1', alg: 'RS256' };
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (claims: JWTPayload, header: { kid?: string; iss?: string; exp?: boolean } = {}) => {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? 'own-1', typ: 'JWT' })
      .setIssuer(header.iss ?? issuer)
      .setAudience('dab')
      .setIssuedAt();
    if (header.exp !== false) jwt.setExpirationTime('10m');
    return jwt.sign(privateKey);
  };
  return { issuer, jwksUrl: `${issuer}/jwks`, sign };
}

async function harness(t: Tap, config?: (c: Record<string, any>) => void): Promise<Harness> {
  const h = await startHarness(t, config ? { config } : {});
  allLogs.push(h.logs);
  return h;
}

const post = (h: Harness, authorization?: string | string[]) =>
  h.app.inject({ method: 'POST', url: '/v1/credentials', payload: BODY, headers: (authorization === undefined ? {} : { authorization }) as OutgoingHttpHeaders });

function assertProblem(t: Tap, res: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, code: string): void {
  t.equal(res.statusCode, status, `status ${status}`);
  t.not(res.statusCode, 500, 'never 500');
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, 'problem+json');
  t.equal(res.json().code, code, `code ${code}`);
}

/** One HTTP/1.1 request over a real socket, so header lines arrive exactly as written. */
function rawRequest(port: number, headerLines: string[], body: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk)).on('error', reject);
    socket.on('end', () => {
      const split = data.indexOf('\r\n\r\n');
      resolve({ status: Number(data.split(' ')[1]), head: data.slice(0, split), body: data.slice(split + 4) });
    });
    const lines = ['POST /v1/credentials HTTP/1.1', 'host: 127.0.0.1', 'content-type: application/json', ...headerLines];
    // write, not end: a half-closed socket may be dropped by the server before it answers.
    socket.write([...lines, `content-length: ${Buffer.byteLength(body)}`, 'connection: close', '', body].join('\r\n'));
  });
}

t.test('bad bearer tokens get 401 problem+json with a Bearer challenge', async (t) => {
  const own = await ownKey(t);
  const h = await harness(t, (c) => c.auth.issuers.push({ issuer: own.issuer, audience: 'dab', jwksUrl: own.jwksUrl, algorithms: ['RS256'] }));
  await h.registerOrders();
  await h.map(SUBJECT, 'orders', ['ro']);
  const admin = use(await h.adminToken());
  const mapOwn = await h.app.inject({ method: 'POST', url: '/v1/mappings', headers: { authorization: `Bearer ${admin}` }, payload: { principal: { issuer: own.issuer, subject: SUBJECT }, database: 'orders', levels: ['ro'] } });
  t.equal(mapOwn.statusCode, 201, 'own issuer mapped');

  // Positive twins: the negatives below differ from these by one defect each.
  const valid = use(await h.token(SUBJECT));
  t.equal((await post(h, `Bearer ${valid}`)).statusCode, 200, 'a valid token gets credentials');
  t.equal((await post(h, `bearer ${valid}`)).statusCode, 200, 'the scheme is case-insensitive');
  t.equal((await post(h, `Bearer ${use(await own.sign({ sub: SUBJECT }))}`)).statusCode, 200, 'the second issuer works');
  const withinTolerance = use(await h.issuer.sign({ sub: SUBJECT }, { expiresIn: nowSeconds() - 10 }));
  t.equal((await post(h, `Bearer ${withinTolerance}`)).statusCode, 200, 'expired 10 s ago is inside the 30 s clock tolerance');

  await t.test('unknown kids refetch the JWKS at most once per cool-down', async (t) => {
    const before = h.issuer.jwksFetches;
    t.ok(before >= 1, 'the keys were fetched once already');
    for (let i = 1; i <= 5; i++) {
      const token = use(await own.sign({ sub: SUBJECT }, { kid: `unknown-${i}`, iss: h.issuer.issuer }));
      assertProblem(t, await post(h, `Bearer ${token}`), 401, 'unauthenticated');
    }
    t.ok(h.issuer.jwksFetches - before <= 1, `JWKS fetched ${h.issuer.jwksFetches - before} more time(s) for 5 unknown kids`);
  });

  // The JWKS fetch below happens outside the cool-down window measured above.
  const jwk = ((await (await fetch(h.issuer.jwksUrl)).json()) as { keys: JsonWebKey[] }).keys[0] as JsonWebKey;
  const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hs256 = await new SignJWT({ sub: SUBJECT })
    .setProtectedHeader({ alg: 'HS256', kid: h.issuer.currentKid, typ: 'JWT' })
    .setIssuer(h.issuer.issuer).setAudience('dab').setIssuedAt().setExpirationTime('10m')
    .sign(new TextEncoder().encode(String(publicPem)));
  const algNone = `${b64url({ alg: 'none', typ: 'JWT', kid: h.issuer.currentKid })}.${b64url({ iss: h.issuer.issuer, aud: 'dab', sub: SUBJECT, exp: nowSeconds() + 600 })}.`;
  const [head, , sig] = valid.split('.');
  const tampered = `${head}.${b64url({ iss: h.issuer.issuer, aud: 'dab', sub: 'dba-alice', exp: nowSeconds() + 600 })}.${sig}`;

  const cases: Array<[string, string | undefined]> = [
    ['no Authorization header', undefined],
    ['Basic scheme', `Basic ${Buffer.from(`${SUBJECT}:hunter2`).toString('base64')}`],
    ['Bearer with garbage', 'Bearer garbage'],
    ['Bearer with three garbage segments', 'Bearer aaa.bbb.ccc'],
    ['Bearer with nothing after it', 'Bearer '],
    ['a JWT without the Bearer scheme', valid],
    ['alg none', `Bearer ${algNone}`],
    ['HS256 signed with the issuer public key as HMAC secret', `Bearer ${hs256}`],
    ['payload changed under a valid signature', `Bearer ${tampered}`],
    ['expired beyond the clock tolerance', `Bearer ${await h.issuer.sign({ sub: SUBJECT }, { expiresIn: nowSeconds() - 120 })}`],
    ['not yet valid', `Bearer ${await h.issuer.sign({ sub: SUBJECT }, { notBefore: nowSeconds() + 3600 })}`],
    ['wrong audience', `Bearer ${await h.issuer.sign({ sub: SUBJECT }, { audience: 'not-dab' })}`],
    ['untrusted issuer', `Bearer ${await h.issuer.sign({ sub: SUBJECT }, { issuer: 'https://evil.example' })}`],
    ['another key with an unknown kid', `Bearer ${await own.sign({ sub: SUBJECT }, { kid: 'nope', iss: h.issuer.issuer })}`],
    ['another key under the issuer current kid', `Bearer ${await own.sign({ sub: SUBJECT }, { kid: h.issuer.currentKid, iss: h.issuer.issuer })}`],
    ['no exp claim (trusted key)', `Bearer ${await own.sign({ sub: SUBJECT }, { exp: false })}`],
    ['subject is a number', `Bearer ${await h.issuer.sign({ sub: 42 as unknown as string })}`],
    ['subject is empty', `Bearer ${await h.issuer.sign({ sub: '' })}`],
    ['token over 16 KiB', `Bearer ${await h.issuer.sign({ sub: SUBJECT, padding: 'x'.repeat(17 * 1024) })}`],
  ];
  for (const [name, authorization] of cases) {
    if (authorization) use(authorization.replace(/^\S+ /, ''));
    await t.test(name, async (t) => {
      const res = await post(h, authorization);
      assertProblem(t, res, 401, 'unauthenticated');
      t.match(String(res.headers['www-authenticate']), CHALLENGE, 'a well-formed Bearer challenge (RFC 6750 §3)');
    });
  }

  await t.test('two Authorization headers are refused, not guessed at', async (t) => {
    const caller = `Bearer ${valid}`;
    assertProblem(t, await post(h, [caller, `Bearer ${admin}`]), 400, 'invalid_request');

    // Node keeps only the first authorization header in req.headers: dab must count rawHeaders.
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    const body = JSON.stringify(BODY);
    const one = await rawRequest(port, [`authorization: ${caller}`], body);
    t.equal(one.status, 200, 'one header over a socket works');
    const two = await rawRequest(port, [`authorization: ${caller}`, `Authorization: Bearer ${admin}`], body);
    t.equal(two.status, 400, 'two headers over a socket: 400');
    t.match(two.head, /content-type: application\/problem\+json/i);
    t.equal(JSON.parse(two.body).code, 'invalid_request');
  });

  await t.test('tiers: callers and auditors are not admins', async (t) => {
    const list = (token: string) => h.app.inject({ method: 'GET', url: '/v1/databases', headers: { authorization: `Bearer ${token}` } });
    assertProblem(t, await list(valid), 403, 'forbidden');
    assertProblem(t, await list(use(await h.token(AUDITOR_SUBJECT))), 403, 'forbidden');
    const ok = await list(admin);
    t.equal(ok.statusCode, 200, 'an admin lists databases');
    t.equal(ok.json().items.length, 1);
  });
});

t.test('key rotation: new kids are picked up, retired keys stop working', async (t) => {
  const h = await harness(t, (c) => Object.assign(c.auth, { jwksCooldownSeconds: 0, jwksCacheMaxAgeSeconds: 1 }));
  await h.registerOrders();
  await h.map(SUBJECT, 'orders', ['ro']);
  const oldKid = h.issuer.currentKid;
  const oldToken = use(await h.token(SUBJECT));
  t.equal((await post(h, `Bearer ${oldToken}`)).statusCode, 200, 'old key works');

  const fetches = h.issuer.jwksFetches;
  const newKid = await h.issuer.rotate();
  t.not(newKid, oldKid);
  const newToken = use(await h.token(SUBJECT));
  t.equal((await post(h, `Bearer ${newToken}`)).statusCode, 200, 'a token with the new kid works at once');
  t.ok(h.issuer.jwksFetches > fetches, 'the unknown kid made dab refetch the JWKS');

  h.issuer.retire(oldKid);
  await new Promise((resolve) => setTimeout(resolve, 1200)); // past jwksCacheMaxAgeSeconds
  const res = await post(h, `Bearer ${oldToken}`);
  assertProblem(t, res, 401, 'unauthenticated');
  t.match(res.json().detail, /no signing key/, 'refused because its key is gone');
  t.equal((await post(h, `Bearer ${newToken}`)).statusCode, 200, 'the new key still works');
});

t.test('IdP keys unreachable: fail closed with 503, bounded time, then recover', async (t) => {
  const h = await harness(t, (c) => (c.auth.jwksTimeoutMs = 300));
  const token = use(await h.token(SUBJECT));
  t.equal(h.issuer.jwksFetches, 0, 'no key fetched yet');

  h.issuer.setJwksFault('error');
  const failed = await post(h, `Bearer ${token}`);
  assertProblem(t, failed, 503, 'idp_unavailable');
  t.match(String(failed.headers['retry-after']), /^\d+$/, 'Retry-After');

  h.issuer.setJwksFault('hang');
  const started = Date.now();
  const hung = await post(h, `Bearer ${token}`);
  assertProblem(t, hung, 503, 'idp_unavailable');
  t.ok(hung.headers['retry-after'], 'Retry-After');
  t.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms with a 300 ms JWKS timeout`);

  h.issuer.setJwksFault('none');
  // Authenticated now; no database is registered, so the grant itself is denied.
  assertProblem(t, await post(h, `Bearer ${token}`), 403, 'access_denied');
});

t.test('no bearer token appears in any log line', async (t) => {
  const lines = allLogs.flat();
  // One access line per request, so at least one line per token sent.
  t.ok(lines.length >= usedTokens.size && usedTokens.size > 20, `${usedTokens.size} tokens against ${lines.length} log lines`);
  const secrets = [...usedTokens].flatMap((token) => [token, token.split('.')[2] ?? '']).filter((s) => s.length >= 16);
  const leaks = lines.filter((line) => secrets.some((secret) => line.includes(secret)));
  t.same(leaks, [], 'no token or signature in the logs');
  t.same(lines.filter((line) => /"status":500\b|"level":[56]0\b/.test(line)), [], 'no 500 and no error-level line');
});
