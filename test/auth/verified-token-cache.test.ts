// The verified-token cache: a JWT that passed every check is not verified again for the same token
// until the cache's bound, and nothing about it may weaken what verification guarantees: expiry on
// time, any changed byte refused, failures never remembered, retired keys refused within the JWKS
// cache's life, memory bounded. Against the local OIDC issuer (real JWKS over HTTP), clock injected.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { createJwtVerifier } from '../../src/auth/jwt-verifier.js';
import { createVerifiedTokenCache } from '../../src/auth/verified-token-cache.js';
import { parseConfig } from '../../src/config/load-config.js';
import { AppError } from '../../src/http/problem.js';
import { startOidcIssuer, type OidcIssuer } from '../../src/sandbox/oidc-issuer.js';

async function issuerFor(t: Test): Promise<OidcIssuer> {
  const issuer = await startOidcIssuer();
  t.teardown(() => issuer.close());
  return issuer;
}

/** A verifier on the issuer with a hand-moved clock, recording each lookup as hit or miss. */
function verifierFor(issuer: OidcIssuer, auth: Record<string, unknown> = {}) {
  const config = parseConfig({
    store: { embedded: true },
    auth: { issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl, algorithms: ['RS256'] }], ...auth },
    sts: { endpoint: 'http://127.0.0.1:9' },
    audit: { fingerprintKey: randomBytes(32).toString('hex') },
  });
  const clock = { now: Date.now() };
  const lookups: boolean[] = [];
  const verifier = createJwtVerifier(config.auth, fetch, { nowMs: () => clock.now, onCacheLookup: (hit) => lookups.push(hit) });
  return { verifier, clock, lookups, config };
}

async function refusal(t: Test, p: Promise<unknown>, detail: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AppError && err.status === 401, 'refused with 401');
  t.match((err as AppError).detail, detail);
}

t.test('the same token is verified once, then answered from the cache with the same caller', async (t) => {
  const issuer = await issuerFor(t);
  const { verifier, lookups } = verifierFor(issuer);
  const token = await issuer.sign({ sub: 'app-1', groups: ['payments'] });
  const first = await verifier.verify(token);
  const fetches = issuer.jwksFetches;
  const second = await verifier.verify(token);
  t.same(lookups, [false, true], 'a miss, then a hit');
  t.equal(second, first, 'the very caller the verification produced');
  t.equal(issuer.jwksFetches, fetches, 'no JWKS traffic for the hit');
});

t.test('a token with any byte changed is verified on its own, and refused', async (t) => {
  const issuer = await issuerFor(t);
  const { verifier, lookups } = verifierFor(issuer);
  const token = await issuer.sign({ sub: 'app-1' });
  await verifier.verify(token);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
  await refusal(t, verifier.verify(`${header}.${payload}.${flipped}`), /signature is invalid/);
  const otherPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'admin' })).toString('base64url');
  await refusal(t, verifier.verify(`${header}.${otherPayload}.${signature}`), /signature is invalid/);
  t.same(lookups, [false, false, false], 'neither altered token was a hit');
});

t.test('a cached token expires on time: jose\'s rule, with the clock tolerance', async (t) => {
  const issuer = await issuerFor(t);
  const { verifier, clock, lookups, config } = verifierFor(issuer, { verifiedTokenCache: { maxAgeSeconds: 3600 }, jwksCacheMaxAgeSeconds: 3600 });
  const token = await issuer.sign({ sub: 'app-1' }, { expiresIn: '2m' });
  const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
  await verifier.verify(token);
  clock.now = (exp - config.auth.clockToleranceSeconds) * 1000 - 1000; // still inside exp + tolerance
  await verifier.verify(token);
  t.same(lookups, [false, true], 'a hit just before the end');
  clock.now = (exp + config.auth.clockToleranceSeconds) * 1000;
  await refusal(t, verifier.verify(token), /has expired/);
  t.same(lookups, [false, true, false], 'the expired entry was no hit');
  await refusal(t, verifier.verify(token), /has expired/);
});

t.test('a verification is reused for at most maxAgeSeconds, and never longer than the JWKS cache life', async (t) => {
  const issuer = await issuerFor(t);
  const own = verifierFor(issuer, { verifiedTokenCache: { maxAgeSeconds: 20 }, jwksCacheMaxAgeSeconds: 600 });
  const token = await issuer.sign({ sub: 'app-1' }, { expiresIn: '10m' });
  const start = own.clock.now;
  await own.verifier.verify(token);
  own.clock.now = start + 19_000;
  await own.verifier.verify(token);
  own.clock.now = start + 20_000;
  await own.verifier.verify(token);
  t.same(own.lookups, [false, true, false], 'at 20 s the token is verified against the keys again');

  const capped = verifierFor(issuer, { verifiedTokenCache: { maxAgeSeconds: 600 }, jwksCacheMaxAgeSeconds: 5 });
  await capped.verifier.verify(token);
  capped.clock.now += 5_000;
  await capped.verifier.verify(token);
  t.same(capped.lookups, [false, false], 'capped at jwksCacheMaxAgeSeconds (5 s) though maxAgeSeconds is 600');
});

t.test('failures are never remembered', async (t) => {
  const issuer = await issuerFor(t);
  const { verifier, lookups } = verifierFor(issuer);
  const wrongAudience = await issuer.sign({ sub: 'app-1' }, { audience: 'someone-else' });
  await refusal(t, verifier.verify(wrongAudience), /"aud"/);
  await refusal(t, verifier.verify(wrongAudience), /"aud"/);
  const notYet = await issuer.sign({ sub: 'app-1' }, { notBefore: '5m' });
  await refusal(t, verifier.verify(notYet), /not yet valid/);
  await refusal(t, verifier.verify(notYet), /not yet valid/);
  t.same(lookups, [false, false, false, false], 'every attempt was verified');
});

t.test('maxEntries 0 verifies every request anew', async (t) => {
  const issuer = await issuerFor(t);
  const { verifier, lookups } = verifierFor(issuer, { verifiedTokenCache: { maxEntries: 0 } });
  const token = await issuer.sign({ sub: 'app-1' });
  await verifier.verify(token);
  await verifier.verify(token);
  t.same(lookups, [false, false]);
});

t.test('memory is bounded: the least recently used token goes first', async (t) => {
  const cache = createVerifiedTokenCache({ maxEntries: 2, maxAgeSeconds: 60, clockToleranceSeconds: 0 });
  const caller = (subject: string) => ({ issuer: 'https://idp.example', subject, groups: [] });
  const now = Date.now();
  const exp = Math.floor(now / 1000) + 600;
  cache.set('token-a', caller('a'), exp, now);
  cache.set('token-b', caller('b'), exp, now);
  t.ok(cache.get('token-a', now), 'a is used, so b is now the least recent');
  cache.set('token-c', caller('c'), exp, now);
  t.equal(cache.size, 2, 'never more than maxEntries');
  t.equal(cache.get('token-b', now), null, 'b was dropped');
  t.ok(cache.get('token-a', now) && cache.get('token-c', now), 'a and c remain');
});

t.test('config: the cache settings are validated', async (t) => {
  const base = { store: { embedded: true }, auth: { issuers: [{ issuer: 'https://idp.example', audience: 'dab' }] }, sts: {}, audit: { fingerprintKey: 'a'.repeat(64) } };
  t.equal(parseConfig(base).auth.verifiedTokenCache.maxEntries, 10000, 'on by default, 10 000 tokens');
  t.equal(parseConfig(base).auth.verifiedTokenCache.maxAgeSeconds, 60, 'for 60 s');
  for (const bad of [{ maxEntries: -1 }, { maxAgeSeconds: 0 }, { maxAgeSeconds: 3601 }, { ttl: 5 }]) {
    t.throws(() => parseConfig({ ...base, auth: { ...base.auth, verifiedTokenCache: bad } }), /verifiedTokenCache/, JSON.stringify(bad));
  }
});
