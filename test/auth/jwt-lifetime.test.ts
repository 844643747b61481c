import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import t, { type Test } from 'tap';
import { startHarness, type Harness } from '../support/harness.js';

// Tokens whose signature is valid but whose iat/exp are out of bounds (issue 10, defect 3).
const SUBJECT = 'app-orders';
const BODY = { database: 'orders', access: 'ro' };
const now = () => Math.floor(Date.now() / 1000);
const YEAR = 365 * 86400;

/**
 * A second trusted issuer of our own: the harness issuer always stamps iat = now, and these
 * tests need tokens with any iat (or none) and any exp, raw as a misbehaving IdP would mint them.
 */
async function rawIssuer(t: Test) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'raw-1', alg: 'RS256' };
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Claims go in as given: no setIssuedAt/setExpirationTime, so iat/exp are exactly what the test says.
  const sign = (claims: JWTPayload) =>
    new SignJWT({ iss: issuer, aud: 'dab', sub: SUBJECT, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'raw-1', typ: 'JWT' }).sign(privateKey);
  return { issuer, jwksUrl: `${issuer}/jwks`, sign };
}

async function setup(t: Test, issuerExtra: Record<string, unknown> = {}) {
  const raw = await rawIssuer(t);
  const h = await startHarness(t, {
    config: (c) => c.auth.issuers.push({ issuer: raw.issuer, audience: 'dab', jwksUrl: raw.jwksUrl, algorithms: ['RS256'], ...issuerExtra }),
  });
  await h.registerOrders();
  const mapped = await h.app.inject({
    method: 'POST',
    url: '/v1/mappings',
    headers: { authorization: `Bearer ${await h.adminToken()}` },
    payload: { principal: { issuer: raw.issuer, subject: SUBJECT }, database: 'orders', levels: ['ro'] },
  });
  t.equal(mapped.statusCode, 201, 'mapping for the raw issuer created');
  return { h, raw };
}

const post = (h: Harness, token: string) => h.app.inject({ method: 'POST', url: '/v1/credentials', payload: BODY, headers: { authorization: `Bearer ${token}` } });

async function failures(h: Harness, reason: string): Promise<number> {
  const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`dab_auth_failures_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

function assertRefused(t: Test, res: Awaited<ReturnType<typeof post>>, description: RegExp): void {
  t.equal(res.statusCode, 401, '401');
  t.equal(res.json().code, 'unauthenticated');
  const challenge = String(res.headers['www-authenticate']);
  t.match(challenge, /^Bearer realm="dab", error="invalid_token", error_description="[^"\\]*"$/, 'RFC 6750 challenge');
  t.match(challenge, description, 'the challenge says what is wrong');
}

t.test('an ordinary token (iat now, exp in 1 h) is accepted', async (t) => {
  const { h, raw } = await setup(t);
  const res = await post(h, await raw.sign({ iat: now(), exp: now() + 3600 }));
  t.equal(res.statusCode, 200, res.body);
});

t.test('a token living longer than the default 24 h is refused, counted by reason', async (t) => {
  const { h, raw } = await setup(t);
  t.equal(h.config.auth.issuers[1]?.maxTokenLifetimeSeconds, 86400, 'default: 24 h');
  for (const exp of [now() + 10 * YEAR, 1e30, now() + 86400 + 3600]) {
    assertRefused(t, await post(h, await raw.sign({ iat: now(), exp })), /lives longer than this issuer's limit of 86400 s/);
  }
  t.equal(await failures(h, 'token_lifetime_too_long'), 3, 'three refusals counted as token_lifetime_too_long');
  t.equal((await h.auditRows("event_type LIKE 'credential.%'")).length, 0, 'nothing reached the grant path');
  // Just under the bound is fine.
  t.equal((await post(h, await raw.sign({ iat: now(), exp: now() + 86400 - 60 }))).statusCode, 200);
});

t.test('without iat the lifetime is measured from now', async (t) => {
  const { h, raw } = await setup(t);
  assertRefused(t, await post(h, await raw.sign({ exp: now() + 10 * YEAR })), /lives longer/);
  t.equal((await post(h, await raw.sign({ exp: now() + 3600 }))).statusCode, 200, 'no iat, 1 h left: accepted');
  // An old iat does not shorten the measure to "what is left": 30 h minted, 2 h left, is still a 30 h token.
  assertRefused(t, await post(h, await raw.sign({ iat: now() - 28 * 3600, exp: now() + 2 * 3600 })), /lives longer/);
});

t.test('a token issued in the future (beyond clock tolerance) is refused', async (t) => {
  const { h, raw } = await setup(t);
  assertRefused(t, await post(h, await raw.sign({ iat: now() + 3600, exp: now() + 7200 })), /issued in the future/);
  assertRefused(t, await post(h, await raw.sign({ iat: now() + 10 * YEAR, exp: now() + 10 * YEAR + 60 })), /issued in the future/);
  t.equal(await failures(h, 'token_issued_in_future'), 2, 'counted as token_issued_in_future');
  // Within the 30 s tolerance (a slightly fast IdP clock) is accepted.
  t.equal((await post(h, await raw.sign({ iat: now() + 10, exp: now() + 600 }))).statusCode, 200);
});

t.test('the bound is per issuer and configurable', async (t) => {
  const { h, raw } = await setup(t, { maxTokenLifetimeSeconds: 600 });
  assertRefused(t, await post(h, await raw.sign({ iat: now(), exp: now() + 3600 })), /limit of 600 s/);
  t.equal((await post(h, await raw.sign({ iat: now(), exp: now() + 300 }))).statusCode, 200, 'a 5 min token is fine');
  // The harness's own issuer keeps the default: its 10 min tokens are accepted.
  t.equal((await post(h, await h.token(SUBJECT))).statusCode, 403, 'other issuer unaffected (authenticated, just not mapped)');
});
