// npm run bench:decide: the pure grant decision (buildAccessModel + decideAccess, no HTTP, no store)
// on a small model and on a large one. The access model is indexed by principal, so a decision
// should do the same work whatever the number of databases and mappings. PASS when (a) with the
// caches warm, the large model's p50 is at most RATIO_TARGET times the small one's (the algorithm
// does not grow with the model), and (b) with 20,000 distinct requests cycled, the large model's
// p50 stays within an absolute budget (a model 10,000 times larger no longer fits the CPU caches,
// so some memory latency is physics, not work; the ratio is printed for the record).
import type { Caller } from '../src/auth/caller.js';
import type { AccessLevel, Database } from '../src/databases/database-schema.js';
import { buildAccessModel, type AccessModel } from '../src/mappings/access-model.js';
import { decideAccess, effectiveAccess, type DecisionInput } from '../src/mappings/decide-access.js';
import type { Mapping, MappingPrincipal } from '../src/mappings/mapping-schema.js';
import { envInt } from './bench-env.js';

const DECISIONS = envInt('BENCH_DECISIONS', 200_000);
const WARMUP = envInt('BENCH_WARMUP', 50_000);
const ROUNDS = 4; // small and large alternate, so drift (GC, thermal) falls on both
const BATCH = 1_000; // decisions per timed batch: one batch is one sample
const REQUESTS = 20_000; // distinct precomputed requests, cycled
const RATIO_TARGET = 2;
const COLD_BUDGET_NS = 20_000;
const ISS = 'https://idp.example.com';
const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400_000;

const started = Date.now();
const progress = (what: string) => console.error(`bench:decide +${((Date.now() - started) / 1000).toFixed(1)}s: ${what}`);

// A seeded generator (mulberry32), so every run measures the same models and requests.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scale { label: string; databases: number; mappings: number }
interface World { scale: Scale; databases: Database[]; mappings: Mapping[]; subjects: number; groups: number; claimValues: number }

// Principal pools grow with the model so each principal is named by about as many mappings at
// either scale (~2 per subject, ~3 per group, ~2 per claim value): what the bench compares is the
// size of the model, not how many mappings name one caller.
function generate(scale: Scale, random: () => number): World {
  const int = (n: number) => Math.floor(random() * n);
  const subjects = Math.max(1, Math.round((scale.mappings * 0.6) / 2));
  const groups = Math.max(1, Math.round((scale.mappings * 0.3) / 3));
  const claimValues = Math.max(1, Math.round((scale.mappings * 0.1) / 2));
  const envs = ['prod', 'staging', 'dev'];
  const databases: Database[] = [];
  for (let i = 0; i < scale.databases; i++) {
    const levels: Database['levels'] = { ro: { dbUser: 'app_ro' } };
    if (random() < 0.7) levels.rw = { dbUser: 'app_rw', roleArn: 'arn:aws:iam::123456789012:role/rw' };
    if (random() < 0.4) levels.monitor = { dbUser: 'app_monitor' };
    databases.push({
      name: `db-${i}`, engine: 'postgres', host: `db-${i}.example.com`, port: 5432, region: 'eu-west-1', dbname: 'app', sslmode: 'verify-full',
      roleArn: 'arn:aws:iam::123456789012:role/dab', version: 1, createdAt: '', updatedAt: '',
      ...(random() < 0.95 ? { labels: { env: envs[int(3)]!, team: `t${int(50)}`, tier: random() < 0.5 ? 'gold' : 'silver' } } : {}),
      levels,
    });
  }
  const levelSets: AccessLevel[][] = [['ro'], ['ro'], ['ro'], ['ro', 'rw'], ['ro', 'rw'], ['rw'], ['monitor'], ['ro', 'monitor']];
  const mappings: Mapping[] = [];
  for (let i = 0; i < scale.mappings; i++) {
    const kind = random();
    const principal: MappingPrincipal =
      kind < 0.6 ? { issuer: ISS, subject: `svc-${int(subjects)}` }
      : kind < 0.9 ? { issuer: ISS, group: `grp-${int(groups)}` }
      : random() < 0.7 ? { issuer: ISS, claim: { name: 'department', value: `dept-${int(claimValues)}` } }
      : { issuer: ISS, claim: { name: 'projects', value: `proj-${int(claimValues)}` } };
    const shape = random();
    const target: { database: string } | { selector: Record<string, string> } = random() < 0.8 ? { database: `db-${int(scale.databases)}` }
      : { selector: shape < 0.6 ? { env: envs[int(3)]!, team: `t${int(50)}` } : shape < 0.9 ? { team: `t${int(50)}` } : { env: envs[int(3)]! } };
    const when = random();
    mappings.push({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `m-${i}`, principal, ...target,
      levels: levelSets[int(levelSets.length)]!, version: 1, createdAt: '', updatedAt: '',
      ...(when < 0.05 ? { expiresAt: new Date(NOW.getTime() - (1 + int(30)) * DAY).toISOString() } : {}),
      ...(when >= 0.05 && when < 0.07 ? { notBefore: new Date(NOW.getTime() + (1 + int(30)) * DAY).toISOString() } : {}),
      ...(when >= 0.07 && when < 0.27 ? { expiresAt: new Date(NOW.getTime() + (1 + int(90)) * DAY).toISOString() } : {}),
      ...(random() < 0.1 ? { requireReason: true } : {}),
    });
  }
  return { scale, databases, mappings, subjects, groups, claimValues };
}

// A caller: usually a known subject, one mapped group next to two broad unmapped ones, and claims.
function makeCaller(w: World, random: () => number): Caller {
  const int = (n: number) => Math.floor(random() * n);
  return {
    issuer: ISS,
    subject: random() < 0.9 ? `svc-${int(w.subjects)}` : `stranger-${int(1000)}`,
    groups: [`grp-${int(w.groups)}`, 'staff', 'everyone'],
    claims: { department: `dept-${int(w.claimValues)}`, projects: [`proj-${int(w.claimValues)}`, `proj-${int(w.claimValues)}`], email_verified: true },
  };
}

// Requests: 60% aimed at something a candidate mapping targets, 35% anywhere, 5% an unknown database.
function makeRequests(w: World, model: AccessModel, random: () => number): { requests: DecisionInput[]; candidates: number } {
  const int = (n: number) => Math.floor(random() * n);
  const levels: AccessLevel[] = ['ro', 'rw', 'monitor'];
  const requests: DecisionInput[] = [];
  let candidates = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const caller = makeCaller(w, random);
    const mine = model.candidates(caller);
    candidates += mine.length;
    const aim = random();
    let database = `db-${int(w.databases.length)}`;
    let level = levels[int(3)]!;
    const m = mine[int(mine.length)];
    if (aim < 0.6 && m) {
      const targets = model.targets(m);
      if (targets.length) database = targets[int(targets.length)]!.name;
      if (random() < 0.8) level = m.levels[int(m.levels.length)]!;
    } else if (aim >= 0.95) database = 'no-such-database';
    requests.push({ caller, level, database, reason: random() < 0.5 ? 'INC-1234' : undefined, model, now: NOW });
  }
  return { requests, candidates: candidates / REQUESTS };
}

interface Run { samples: number[]; outcomes: Map<string, number> }

/** Times `count` decisions in batches; each sample is ns per decision in one batch. */
function timeDecisions(requests: DecisionInput[], count: number, run: Run, offset: number): void {
  for (let done = 0; done < count; done += BATCH) {
    const t0 = process.hrtime.bigint();
    for (let j = 0; j < BATCH; j++) {
      const d = decideAccess(requests[(offset + done + j) % requests.length]!);
      const key = d.allowed ? 'allowed' : d.reason;
      run.outcomes.set(key, (run.outcomes.get(key) ?? 0) + 1);
    }
    run.samples.push(Number(process.hrtime.bigint() - t0) / BATCH);
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pad = (s: string | number, n: number) => String(s).padStart(n);

function timeBuild(w: World): { model: AccessModel; ms: number } {
  const t0 = process.hrtime.bigint();
  const model = buildAccessModel(w.databases, w.mappings);
  return { model, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** effectiveAccess (what can I get?) for a few callers: info only, it expands selectors. */
function timeEffective(w: World, model: AccessModel, random: () => number): { us: number; grants: number } {
  const callers = Array.from({ length: 200 }, () => makeCaller(w, random));
  let grants = 0;
  const t0 = process.hrtime.bigint();
  for (const c of callers) grants += effectiveAccess(model, c, NOW).length;
  return { us: Number(process.hrtime.bigint() - t0) / 1e3 / callers.length, grants: grants / callers.length };
}

function main(): boolean {
  const rssStart = process.memoryUsage.rss();
  const scales: Scale[] = [
    { label: 'small', databases: 10, mappings: 10 },
    { label: 'large', databases: 10_000, mappings: 100_000 },
  ];
  progress('generating models');
  const worlds = scales.map((s, i) => generate(s, rng(42 + i)));
  const rssGenerated = process.memoryUsage.rss();
  progress('building access models');
  const builds = worlds.map((w) => {
    timeBuild(w); // once to warm up the builder, then timed
    return timeBuild(w);
  });
  const rssBuilt = process.memoryUsage.rss();
  const prepared = worlds.map((w, i) => makeRequests(w, builds[i]!.model, rng(7 + i)));
  const runs: Run[] = worlds.map(() => ({ samples: [], outcomes: new Map() }));
  progress(`warming up (${WARMUP.toLocaleString('en')} decisions per model)`);
  prepared.forEach((p) => timeDecisions(p.requests, WARMUP, { samples: [], outcomes: new Map() }, 0));
  const perRound = Math.ceil(DECISIONS / ROUNDS / BATCH) * BATCH;
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}: ${perRound.toLocaleString('en')} decisions per model`);
    prepared.forEach((p, i) => timeDecisions(p.requests, perRound, runs[i]!, WARMUP + r * perRound));
  }
  // The same work with the caches warm (20 requests cycled): what is left of the large p50 above this is memory latency.
  const hot: Run = { samples: [], outcomes: new Map() };
  timeDecisions(prepared[1]!.requests.slice(0, 20), perRound, hot, 0);
  const hotP50 = pct([...hot.samples].sort((a, b) => a - b), 50);
  const effective = worlds.map((w, i) => timeEffective(w, builds[i]!.model, rng(99 + i)));
  const rssEnd = process.memoryUsage.rss();
  progress('done');

  const stats = runs.map((run) => {
    const sorted = [...run.samples].sort((a, b) => a - b);
    return { p50: pct(sorted, 50), p90: pct(sorted, 90), p99: pct(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, n: run.samples.length * BATCH };
  });
  const [small, large] = stats as [(typeof stats)[0], (typeof stats)[0]];
  const ratio = large.p50 / small.p50;
  const warmRatio = hotP50 / small.p50;
  const pass = warmRatio <= RATIO_TARGET && large.p50 <= COLD_BUDGET_NS;
  const mix = (run: Run, n: number) =>
    [...run.outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${((100 * v) / n).toFixed(1)}%`).join(', ');
  const target = (label: string, measured: string, result: string) => `  ${label.padEnd(44)}${measured.padEnd(30)}${result}`;
  const lines = [
    '',
    'dab decision bench',
    `  what      decideAccess on an in-memory model (no HTTP, no store, no audit), ${REQUESTS.toLocaleString('en')} precomputed requests per model, cycled`,
    `  load      ${WARMUP.toLocaleString('en')} warm-up decisions per model, then ${ROUNDS} alternating rounds: ${(ROUNDS * perRound).toLocaleString('en')} per model, timed in batches of ${BATCH}`,
    `  mappings  ~60% subject, ~30% group, ~10% claim; ~80% by name, ~20% by label selector (env, team); ~5% expired, ~2% not yet valid, ~10% requireReason`,
    '',
    '            databases  mappings  build ms  candidates/caller   p50 ns   p90 ns   p99 ns   max ns',
    ...worlds.map((w, i) => {
      const s = stats[i]!;
      return `  ${w.scale.label.padEnd(8)}${pad(w.databases.length, 11)}${pad(w.mappings.length, 10)}${pad(builds[i]!.ms.toFixed(1), 10)}${pad(prepared[i]!.candidates.toFixed(1), 19)}` +
        `${pad(s.p50.toFixed(0), 9)}${pad(s.p90.toFixed(0), 9)}${pad(s.p99.toFixed(0), 9)}${pad(s.max.toFixed(0), 9)}`;
    }),
    '  (ns per decision: each sample is one batch of decisions divided by its size, so p99 is of batches, not of single calls)',
    `  large, cache-warm (20 requests cycled): p50 ${hotP50.toFixed(0)} ns per decision, the decision's own work; the rest of the large p50 is cache misses`,
    ...worlds.map((w, i) => `  outcomes ${w.scale.label}: ${mix(runs[i]!, stats[i]!.n)}`),
    ...worlds.map((w, i) => `  effectiveAccess ${w.scale.label}: ${effective[i]!.us.toFixed(1)} µs per caller, ${effective[i]!.grants.toFixed(1)} grants per caller (info: selectors expand)`),
    '',
    target('target', 'measured', 'result'),
    target(`large (cache-warm)/small p50 <= ${RATIO_TARGET}`, `${warmRatio.toFixed(2)} (${hotP50.toFixed(0)} / ${small.p50.toFixed(0)} ns)`, warmRatio <= RATIO_TARGET ? 'PASS' : 'FAIL'),
    target(`large p50, 20,000 requests, <= ${COLD_BUDGET_NS / 1000} µs`, `${(large.p50 / 1000).toFixed(1)} µs`, large.p50 <= COLD_BUDGET_NS ? 'PASS' : 'FAIL'),
    target('large/small p50, 20,000 requests', `${ratio.toFixed(2)} (${large.p50.toFixed(0)} / ${small.p50.toFixed(0)} ns)`, '(info: cache misses)'),
    target('build the large model (buildAccessModel)', `${builds[1]!.ms.toFixed(1)} ms`, '(info)'),
    target('RSS at start', mib(rssStart), '(info)'),
    target('RSS after generating both models', mib(rssGenerated), '(info)'),
    target('RSS after building them (two builds each)', mib(rssBuilt), '(info)'),
    target('RSS at the end', mib(rssEnd), '(info)'),
    '',
  ];
  console.log(lines.join('\n'));
  console.log(pass ? 'bench:decide: PASS (a decision costs about the same on the large model)' : 'bench:decide: FAIL (a decision costs more on the large model, see above)');
  return pass;
}

process.exit(main() ? 0 : 1);
