// npm run bench:sign: µs per RDS IAM token, @aws-sdk/rds-signer against dab's presigner, in one
// run, over many sessions with real-sized (~900 character) session tokens. Variants alternate in
// rounds so drift (GC, a busy neighbour) falls on all of them; the median round's process CPU
// time per token is reported.
// Tokens are awaited one by one, as a grant does. No pass/fail: the numbers are for the record.
import { Signer } from '@aws-sdk/rds-signer';
import type { AssumedCredentials } from '../src/aws/sts-client.js';
import { createTokenSigner, reuseWithinSigningSecond, signToken, type SignToken, type TokenRequest } from '../src/aws/token-signer.js';
import { rdsDbTarget } from '../src/engines/rds-db/rds-db-token.js';
import { median } from './bench-report.js';
import { envInt } from './bench-env.js';

const TOKENS = envInt('BENCH_SIGN_TOKENS', 4_000); // per variant per round
const ROUNDS = envInt('BENCH_SIGN_ROUNDS', 5);
const SESSIONS = envInt('BENCH_SIGN_SESSIONS', 500);

// A seeded generator (mulberry32), so every run signs the same requests.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(11);
const chars = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const requests: TokenRequest[] = Array.from({ length: SESSIONS }, (_, i) => {
  const credentials: AssumedCredentials = {
    accessKeyId: `ASIA${chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
    secretAccessKey: chars(B64, 40),
    sessionToken: `IQoJb3JpZ2luX2Vj${chars(B64, 880)}==`,
    expiration: new Date(Date.now() + 3600_000),
  };
  return { target: rdsDbTarget(`orders-${i % 7}.c9akciq32.eu-west-1.rds.amazonaws.com`, 5432, `app_${i % 3 ? 'ro' : 'rw'}`), region: 'eu-west-1', credentials };
});

// What dab did before: a new Signer (and so a new SignatureV4) per token.
const library: SignToken = ({ target, region, credentials: c }) =>
  new Signer({ hostname: target.signedHost.replace(/:\d+$/, ''), port: Number(target.signedHost.split(':').pop()), username: target.params.DBUser as string, region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken } }).getAuthToken();

const variants: [string, SignToken][] = [
  ['@aws-sdk/rds-signer (new Signer per token)', library],
  ['dab presigner, no caches (signToken)', signToken],
  ['dab presigner, cached keys + escaped tokens', createTokenSigner({ maxCachedKeys: SESSIONS })],
  ['  + reuseWithinSigningSecond, same caller again', reuseWithinSigningSecond(createTokenSigner({ maxCachedKeys: SESSIONS }))],
];

/** Process CPU µs per token: on a shared machine wall time mostly measures the neighbours. */
async function round(sign: SignToken, sameCaller: boolean): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < TOKENS; i++) await sign(requests[sameCaller ? 0 : i % SESSIONS]!);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / TOKENS;
}


async function main(): Promise<void> {
  // Warm-up: JIT, and the caches of every session (a grant path in steady state).
  for (const [label, sign] of variants) await round(sign, label.includes('same caller'));
  const samples = new Map<string, number[]>(variants.map(([label]) => [label, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [label, sign] of variants) samples.get(label)!.push(await round(sign, label.includes('same caller')));
  }
  const libraryUs = median(samples.get(variants[0]![0])!);
  console.log(`bench:sign  ${TOKENS} tokens x ${ROUNDS} rounds per variant, ${SESSIONS} sessions, ~900-char session tokens, node ${process.version}`);
  for (const [label] of variants) {
    const us = median(samples.get(label)!);
    const range = samples.get(label)!.map((x) => x.toFixed(1)).join(' ');
    console.log(`  ${label.padEnd(50)} ${us.toFixed(1).padStart(7)} µs CPU/token  (x${(libraryUs / us).toFixed(1)} vs library; rounds: ${range})`);
  }
}

await main();
