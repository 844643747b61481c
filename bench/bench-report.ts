import type { LoadResult } from './load-protocol.js';

export type ServerName = 'lean' | 'broker' | 'audit';
export const SERVER_LABEL: Record<ServerName, string> = { lean: 'lean floor', broker: 'dab', audit: 'audit floor' };

/** One load run of one server, with the CPU time its process spent meanwhile. */
export interface Measured {
  run: LoadResult;
  cpuMicros: number;
}

/** One run of each server, back to back, in `order`. */
export interface BenchRound {
  order: ServerName[];
  runs: Record<ServerName, Measured>;
}

export interface MixFigures {
  name: string;
  description: string;
  /** The speed targets are judged on this mix; the others are reported for comparison. */
  judged: boolean;
  callers: number;
  variants: number;
  warm: Record<ServerName, LoadResult>;
  rounds: BenchRound[];
  /** credential.issued rows written during this mix's measured dab runs. */
  issuedRows: number;
  /** Tokens dab signed vs reused within their signing second, during the measured dab runs. */
  tokens: { signed: number; reused: number };
  /** dab's group commit during the measured runs: rows committed and the INSERTs that carried them. */
  auditBatches: { rows: number; inserts: number };
  /** AssumeRole calls the emulator answered during the measured runs (all sessions were warmed). */
  assumeRoleInRuns: number;
}

export interface BenchFigures {
  storeLabel: string;
  /** The Node version and flags every server ran with. */
  runtime: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  order: string;
  mixes: MixFigures[];
  assumeRoleCalls: number;
  /** Distinct (caller, role) pairs among all credential.issued rows, warm-ups included. */
  pairs: number;
  /** VmHWM of each server process at the end of the run; dab's since its fixtures were registered. */
  peakRss: Record<ServerName, number>;
  /** dab's VmHWM while the fixtures were applied (undefined: the peak could not be reset, so peakRss includes it). */
  dabSetupPeakRss: number | undefined;
  /** dab's VmRSS at the end of the run (after the warm-ups' peak). */
  dabFinalRss: number;
}

// Memory: the issue's 200 MB, in bytes (190.7 MiB).
export const TARGETS = { throughput: 0.9, p99: 1.5, rssBytes: 200e6, reusedShare: 0.01 };

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const throughputRatio = (broker: LoadResult, floor: LoadResult): number => (floor.okPerSecond > 0 ? broker.okPerSecond / floor.okPerSecond : 0);
export const p99Ratio = (broker: LoadResult, floor: LoadResult): number => (floor.p99Ms > 0 ? broker.p99Ms / floor.p99Ms : broker.p99Ms > 0 ? Infinity : 1);

/** All runs of one server as one: throughput over their summed time, the median p50, the worst p99. */
function pooled(runs: LoadResult[]): LoadResult {
  const sum = (pick: (r: LoadResult) => number) => runs.reduce((n, r) => n + pick(r), 0);
  const statusCodes: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const elapsedSeconds = sum((r) => r.elapsedSeconds);
  return {
    statusCodes,
    ok2xx: sum((r) => r.ok2xx),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    elapsedSeconds,
    okPerSecond: elapsedSeconds > 0 ? sum((r) => r.ok2xx) / elapsedSeconds : 0,
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
  };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const unanswered = (r: LoadResult) => r.non2xx + r.errors;
const cpuPer = (cpuMicros: number, answers: number) => (answers > 0 ? String(Math.round(cpuMicros / answers)) : 'n/a');
const codes = (r: LoadResult) => Object.entries(r.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ') || 'none';
const line = (label: string, measured: string, result: string) => `  ${label.padEnd(50)} ${measured.padEnd(40)} ${result}`;

function row(name: string, m: { run: LoadResult; cpuMicros?: number }, extra = ''): string {
  const r = m.run;
  const cpu = m.cpuMicros === undefined ? '' : cpuPer(m.cpuMicros, r.ok2xx);
  return `  ${name.padEnd(18)}${pad(r.okPerSecond.toFixed(1), 9)}${pad(r.p50Ms, 8)}${pad(r.p99Ms, 8)}${pad(r.ok2xx, 8)}${pad(r.non2xx + r.errors, 8)}${pad(cpu, 9)}${extra}`;
}

interface MixVerdict {
  lines: string[];
  hard: boolean[];
  speed: boolean[];
}

function reportMix(mix: MixFigures): MixVerdict {
  const all = (s: ServerName) => pooled(mix.rounds.map((r) => r.runs[s].run));
  const cpu = (s: ServerName) => mix.rounds.reduce((n, r) => n + r.runs[s].cpuMicros, 0);
  const pooledRuns = { lean: all('lean'), broker: all('broker'), audit: all('audit') };
  const perRound = (fn: (b: LoadResult, fl: LoadResult) => number, floor: ServerName) => mix.rounds.map((r) => fn(r.runs.broker.run, r.runs[floor].run));
  const tLean = perRound(throughputRatio, 'lean');
  const pLean = perRound(p99Ratio, 'lean');
  const tAudit = perRound(throughputRatio, 'audit');
  const pAudit = perRound(p99Ratio, 'audit');
  // CPU per answer moves less than throughput when other processes compete for the cores.
  const cpuRatio = mix.rounds.map((r) => {
    const per = (s: ServerName) => r.runs[s].cpuMicros / Math.max(1, r.runs[s].run.ok2xx);
    return per('broker') > 0 ? per('lean') / per('broker') : 0;
  });
  const bad = [...Object.values(mix.warm), ...Object.values(pooledRuns)].reduce((n, r) => n + unanswered(r), 0);
  const broker200 = pooledRuns.broker.statusCodes['200'] ?? 0;
  const tokenTotal = mix.tokens.signed + mix.tokens.reused;
  const reusedShare = tokenTotal > 0 ? mix.tokens.reused / tokenTotal : 0;
  const checks = {
    throughput: median(tLean) >= TARGETS.throughput,
    p99: median(pLean) <= TARGETS.p99,
    non2xx: bad === 0,
    rows: mix.issuedRows === broker200,
    // Only the distinct mix promises no reuse; there it is what makes the figure mean anything.
    distinct: !mix.judged || reusedShare <= TARGETS.reusedShare,
  };
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const judged = (ok: boolean) => (mix.judged ? verdict(ok) : `${verdict(ok)} (info: judged on distinct)`);
  const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

  const lines = [
    '',
    `mix "${mix.name}"${mix.judged ? ' (targets judged here)' : ''}: ${mix.description}`,
    `  ${mix.callers} callers, ${mix.variants} request variants in rotation; warm-up ${Object.entries(mix.warm)
      .map(([s, r]) => `${SERVER_LABEL[s as ServerName]} ${r.okPerSecond.toFixed(0)}/s`)
      .join(', ')} (not counted)`,
    '',
    '                    grants/s  p50 ms  p99 ms     2xx  non-2xx  CPU µs/answer',
    ...mix.rounds.flatMap((r, i) =>
      r.order.map((s) => row(`${i + 1} ${SERVER_LABEL[s]}`, r.runs[s], s === 'broker' ? `   ratio ${tLean[i]!.toFixed(2)} / p99 ×${pLean[i]!.toFixed(2)} (lean)` : '')),
    ),
    row('all lean floor', { run: pooledRuns.lean, cpuMicros: cpu('lean') }),
    row('all audit floor', { run: pooledRuns.audit, cpuMicros: cpu('audit') }),
    row('all dab', { run: pooledRuns.broker, cpuMicros: cpu('broker') }),
    '  (all: throughput over the summed run time, median p50, worst p99; CPU: user + system of that server\'s process)',
    `  status codes: lean ${codes(pooledRuns.lean)}; audit ${codes(pooledRuns.audit)}; dab ${codes(pooledRuns.broker)}`,
    '',
    line('target', 'measured (median of per-round ratios)', 'result'),
    line(`dab/lean floor grants/s >= ${TARGETS.throughput}`, `${median(tLean).toFixed(2)} (rounds ${list(tLean)})`, judged(checks.throughput)),
    line(`dab/lean floor p99 <= ${TARGETS.p99}×`, `${median(pLean).toFixed(2)}× (rounds ${list(pLean)})`, judged(checks.p99)),
    line('dab/audit floor grants/s', `${median(tAudit).toFixed(2)} (rounds ${list(tAudit)})`, '(info)'),
    line('dab/audit floor p99', `${median(pAudit).toFixed(2)}× (rounds ${list(pAudit)})`, '(info)'),
    line('lean floor/dab CPU µs per answer', `${median(cpuRatio).toFixed(2)} (rounds ${list(cpuRatio)})`, '(info: the ratio if CPU-bound)'),
    line('audit floor/lean floor grants/s', median(mix.rounds.map((r) => throughputRatio(r.runs.audit.run, r.runs.lean.run))).toFixed(2), '(info)'),
    line('no non-2xx or errors (warm-ups and runs)', String(bad), verdict(checks.non2xx)),
    line('credential.issued rows = dab 200s (runs)', `${mix.issuedRows} rows / ${broker200} 200s`, verdict(checks.rows)),
    line(
      `tokens signed / reused in their second${mix.judged ? ` (<= ${TARGETS.reusedShare * 100}%)` : ''}`,
      `${mix.tokens.signed} / ${mix.tokens.reused} (${(reusedShare * 100).toFixed(1)}% reused)`,
      mix.judged ? (checks.distinct ? 'PASS' : 'FAIL: not distinct, raise BENCH_DISTINCT_CALLERS') : '(info)',
    ),
    `    (${mix.variants} variants at ${Math.round(pooledRuns.broker.okPerSecond)} grants/s: each comes round every ` +
      `${(mix.variants / Math.max(1, pooledRuns.broker.okPerSecond)).toFixed(2)} s)`,
    line('AssumeRole calls during the runs', String(mix.assumeRoleInRuns), '(info: sessions were warmed, expect 0)'),
    line(
      'dab audit rows per group-commit INSERT',
      `${(mix.auditBatches.rows / Math.max(1, mix.auditBatches.inserts)).toFixed(1)} (${mix.auditBatches.rows} rows in ${mix.auditBatches.inserts} INSERTs)`,
      '(info)',
    ),
  ];
  return { lines, hard: [checks.non2xx, checks.rows, checks.distinct], speed: mix.judged ? [checks.throughput, checks.p99] : [] };
}

/** Prints the summary. hardFailure: a correctness check failed; targetMissed: a speed or memory target did. */
export function printReport(f: BenchFigures): { hardFailure: boolean; targetMissed: boolean } {
  const verdicts = f.mixes.map((mix) => reportMix(mix));
  const calls = f.assumeRoleCalls <= f.pairs;
  const rss = f.peakRss.broker < TARGETS.rssBytes;
  const lines = [
    '',
    'dab grant bench',
    `  store     ${f.storeLabel}`,
    `  runtime   ${f.runtime}`,
    `  servers   dab (\`dab serve\`, default configuration), lean floor and audit floor: each in its own process; load from a fourth`,
    `  load      ${f.connections} connections; per mix ${f.mixes[0]?.rounds.length ?? 0} rounds of ${f.seconds} s per server, after a warm-up of ` +
      `${f.warmupSeconds} s each (dab's until every request variant was sent once)`,
    `  order     ${f.order}`,
    ...verdicts.flatMap((v) => v.lines),
    '',
    'whole run',
    line('AssumeRole calls <= (caller, role) pairs', `${f.assumeRoleCalls} calls / ${f.pairs} pairs`, calls ? 'PASS' : 'FAIL'),
    '    (both over the whole life of this dab, warm-ups included: every session is assumed during warm-up)',
    line(
      `dab peak RSS under load (VmHWM) < ${TARGETS.rssBytes / 1e6} MB (${mib(TARGETS.rssBytes)})`,
      `${mib(f.peakRss.broker)} (at the end: ${mib(f.dabFinalRss)})${f.dabSetupPeakRss === undefined ? ', setup included' : ''}`,
      rss ? 'PASS' : 'FAIL',
    ),
    ...(f.dabSetupPeakRss === undefined ? [] : [line('dab peak RSS while applying the fixtures', mib(f.dabSetupPeakRss), '(info: one access document of all mappings)')]),
    line('floors\' peak RSS', `lean ${mib(f.peakRss.lean)}, audit ${mib(f.peakRss.audit)}`, '(info)'),
    '',
  ];
  console.log(lines.join('\n'));
  const hardFailure = !calls || verdicts.some((v) => v.hard.includes(false));
  const targetMissed = !rss || verdicts.some((v) => v.speed.includes(false));
  console.log(
    hardFailure
      ? 'bench: FAILED a correctness check (see above)'
      : f.mixes.some((m) => m.judged)
        ? `bench: correctness checks met; speed/memory targets ${targetMissed ? 'MISSED' : 'met'} (on the distinct mix)`
        : `bench: correctness checks met; memory target ${rss ? 'met' : 'MISSED'}; speed targets not judged (the distinct mix was not run)`,
  );
  return { hardFailure, targetMissed };
}
