// Our presigner against @aws-sdk/rds-signer as the oracle, over generated inputs, and every token
// also through the sandbox's independent SigV4 verifier (what the RDS-like IAM gate checks).
import t from 'tap';
import { createSigningKeyCache, deriveSigningKey, type PresignCredentials } from '../../src/aws/sigv4-presign.js';
import { createTokenSigner, tokenSignedAt } from '../../src/aws/token-signer.js';
import { createRdsPresigner, presignRdsToken, rdsDbTarget, type RdsPresignRequest } from '../../src/engines/rds-db/rds-db-token.js';
import { deriveSigningKey as verifierSigningKey, verifyRdsAuthToken } from '../../src/sandbox/sigv4.js';
import { librarySignAt } from './rds-signer-oracle.js';

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.SIGNER_PROPERTY_SEED ?? 20261201);
const rand = prng(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
const stringOf = (alphabet: string | readonly string[], length: number): string => Array.from({ length }, () => pick([...alphabet])).join('');

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE64 = `${ALNUM}+/=`;
// Characters that need escaping (reserved, %, space, non-ASCII incl. a surrogate pair) next to ones that do not.
const USER_CHARS = [...`${ALNUM}-_.~!'()*/?&=+ %#@:;,$[]"<>\\^\`{|}`, 'é', 'ß', '中', '😀', '\u00a0'];
const REGIONS = ['us-east-1', 'eu-west-1', 'eu-central-2', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1', 'il-central-1'];

function genHost(): string {
  switch (int(0, 4)) {
    case 0: return `${stringOf('abcdefghijklmnopqrstuvwxyz', int(1, 20))}.${stringOf('abcdefghij0123456789', 12)}.${pick(REGIONS)}.rds.amazonaws.com`;
    case 1: return pick(['localhost', '127.0.0.1', '127.0.0.42', 'db']);
    case 2: return `${stringOf('ABCDEFabcdef0123456789-', int(1, 30))}.example.COM`;
    case 3: return `proxy-${stringOf(ALNUM, 8)}.proxy-${stringOf('abcdef0123456789', 12)}.${pick(REGIONS)}.rds.amazonaws.com`;
    default: return `h${int(0, 999)}.internal`;
  }
}
function genCredentials(): PresignCredentials {
  const accessKeyId = `${pick(['ASIA', 'AKIA'])}${stringOf('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`;
  const secretAccessKey = stringOf(BASE64, 40);
  // Real STS session tokens are ~700-1200 characters of base64; some callers have none.
  const shape = int(0, 5);
  if (shape === 0) return { accessKeyId, secretAccessKey };
  if (shape === 1) return { accessKeyId, secretAccessKey, sessionToken: '' };
  return { accessKeyId, secretAccessKey, sessionToken: stringOf(BASE64, shape === 2 ? int(16, 200) : int(700, 1300)) };
}
function genMoment(): number {
  const from = Date.UTC(2020, 0, 1);
  const to = Date.UTC(2036, 0, 1);
  const day = Math.floor((from + rand() * (to - from)) / 86_400_000) * 86_400_000;
  switch (int(0, 3)) {
    case 0: return day + int(-1500, 1500); // around midnight UTC: the credential scope's day flips
    case 1: return pick([Date.UTC(2028, 1, 29, 23, 59, 59, 999), Date.UTC(2028, 2, 1), Date.UTC(2030, 11, 31, 23, 59, 59, 500), Date.UTC(2031, 0, 1, 0, 0, 0, 1)]);
    default: return day + int(0, 86_399_999);
  }
}

// A pool of callers reused across cases, so the caches see many sessions interleaved, including
// look-alikes: same access key with another secret, same secret with another session token.
const pool: PresignCredentials[] = Array.from({ length: 24 }, genCredentials);
const base = pool[0]!;
pool.push({ ...base, secretAccessKey: stringOf(BASE64, 40) }, { ...base, sessionToken: stringOf(BASE64, 900) }, { ...base, accessKeyId: `ASIA${stringOf('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 16)}` });

function genRequest(): RdsPresignRequest {
  return {
    host: genHost(),
    port: pick([5432, 3306, 1, 65535, int(1, 65535)]),
    user: int(0, 9) === 0 ? '' : stringOf(USER_CHARS, int(1, 40)),
    region: pick(REGIONS),
    credentials: pick(pool),
  };
}

t.test(`byte-identical to @aws-sdk/rds-signer over generated inputs (seed ${SEED})`, async (t) => {
  // A tiny cache, so keys are evicted and re-derived while other callers' keys are cached.
  const cached = createRdsPresigner({ maxCachedKeys: 3 });
  const roomy = createRdsPresigner({ maxCachedKeys: 10_000 });
  const cases = 1500;
  const mismatches: unknown[] = [];
  let verified = 0;
  for (let i = 0; i < cases; i++) {
    const request = genRequest();
    const at = genMoment();
    const expected = await librarySignAt(request, at);
    const pinned = tokenSignedAt(expected)?.getTime();
    if (pinned !== Math.floor(at / 1000) * 1000) throw new Error(`the oracle did not sign at the pinned time (${new Date(at).toISOString()})`);
    const ours = { uncached: presignRdsToken(request, at), cached: cached.presign(request, at), roomy: roomy.presign(request, at), again: roomy.presign(request, at) };
    for (const [variant, token] of Object.entries(ours)) {
      if (token !== expected) mismatches.push({ case: i, variant, request, at: new Date(at).toISOString(), expected, token });
    }
    // The independent verifier: what the sandbox's RDS-like gate accepts.
    const c = request.credentials;
    const lookup = (id: string) => (id === c.accessKeyId ? { secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) } : undefined);
    const result = verifyRdsAuthToken(ours.cached, { host: request.host, port: request.port, user: request.user, region: request.region }, lookup, { now: new Date(at + 1000) });
    if (result.ok) verified++;
    else mismatches.push({ case: i, verifier: result.reason, request, at: new Date(at).toISOString() });
  }
  t.same(mismatches.slice(0, 3), [], `all ${cases} cases equal the library's bytes and verify (first mismatches shown)`);
  t.equal(verified, cases, 'every token passes the independent verifier');
});

t.test('the signer signs at its clock, to the second, like the library at that clock', async (t) => {
  let clock = Date.UTC(2026, 11, 1, 23, 59, 59, 999);
  const sign = createTokenSigner({ maxCachedKeys: 4, nowMs: () => clock });
  const request = { ...genRequest(), credentials: { ...pool[3]!, sessionToken: stringOf(BASE64, 800), expiration: new Date(clock + 3600_000) } };
  const ours = (r: typeof request) => sign({ target: rdsDbTarget(r.host, r.port, r.user), region: r.region, credentials: r.credentials });
  t.equal(await ours(request), await librarySignAt(request, clock), 'last millisecond of a day');
  clock += 1;
  t.equal(await ours(request), await librarySignAt(request, clock), 'first millisecond of the next day');
  t.same(tokenSignedAt(await ours(request)), new Date(Date.UTC(2026, 11, 2)));
  const broken = { ...request, user: '\ud800' }; // a lone surrogate cannot be URI-encoded: the library throws too
  await t.rejects(ours(broken), URIError);
  await t.rejects(librarySignAt(broken, clock), URIError);
});

t.test('signing keys: the AWS example, the verifier agrees, bounded LRU, never another caller\'s key', async (t) => {
  // docs.aws.amazon.com "Examples of how to derive a signing key for Signature Version 4".
  t.equal(deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam').toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  const cache = createSigningKeyCache(4);
  const secrets = Array.from({ length: 12 }, () => stringOf(BASE64, 40));
  for (const secret of secrets) {
    for (const region of ['us-east-1', 'eu-west-1']) {
      t.same(cache.get(secret, '20261201', region, 'rds-db'), verifierSigningKey(secret, '20261201', region, 'rds-db'));
      t.ok(cache.size <= 4, 'never more entries than allowed');
    }
  }
  t.equal(cache.size, 4);
  // Fields cannot run into each other: these share every character but not their fields.
  t.not(cache.get('x', '20261201', 'a|1', 'b').toString('hex'), cache.get('1:b|x', '20261201', 'a', '').toString('hex'));
  const hot = secrets[0]!;
  const key = cache.get(hot, '20261202', 'us-east-1', 'rds-db');
  for (const secret of secrets.slice(1, 4)) cache.get(secret, '20261202', 'us-east-1', 'rds-db');
  t.equal(cache.get(hot, '20261202', 'us-east-1', 'rds-db'), key, 'a recently used key is kept (same buffer)');
  t.throws(() => createSigningKeyCache(0), RangeError);
});
