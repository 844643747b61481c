import type { LoadResult } from './load-protocol.js';

/** One floor run and one broker run, side by side, with the CPU time the bench process spent on each. */
export interface BenchRound {
  floor: LoadResult;
  broker: LoadResult;
  floorCpuMicros: number;
  brokerCpuMicros: number;
}

export interface BenchFigures {
  storeLabel: string;
  connections: number;
  /** Seconds of each measured run (one floor and one broker run per round). */
  seconds: number;
  warmupSeconds: number;
  callers: number;
  variants: number;
  order: string;
  rounds: BenchRound[];
  warmFloor: LoadResult;
  warmBroker: LoadResult;
  peakRssBytes: number;
  rssNote: string;
  assumeRoleCalls: number;
  /** Distinct (caller, role) pairs among all credential.issued rows, warm-up included. */
  pairs: number;
  /** credential.issued rows written during the measured broker runs. */
  issuedRows: number;
  /** Tokens dab signed vs reused within their signing second, during the measured broker runs. */
  tokens: { signed: number; reused: number };
}

/** Throughput is noisy, so a ratio miss is reported but never fails the run. */
export const RATIO_TARGET = 0.8;

export const ratioOf = (broker: LoadResult, floor: LoadResult): number => (floor.okPerSecond > 0 ? broker.okPerSecond / floor.okPerSecond : 0);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

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
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
const reusedShare = ({ signed, reused }: { signed: number; reused: number }) =>
  signed + reused > 0 ? `${((100 * reused) / (signed + reused)).toFixed(0)}%` : 'n/a';
const unanswered = (r: LoadResult) => r.non2xx + r.errors;

function row(name: string, r: LoadResult, ratio = ''): string {
  return `  ${name.padEnd(16)}${pad(r.okPerSecond.toFixed(1), 10)}${pad(r.p50Ms, 9)}${pad(r.p99Ms, 9)}${pad(r.ok2xx, 9)}${pad(r.non2xx, 10)}${pad(r.errors, 9)}${pad(ratio, 8)}`;
}

/** Prints the summary; returns true when a hard correctness target failed. */
export function printReport(f: BenchFigures): boolean {
  const ratios = f.rounds.map((r) => ratioOf(r.broker, r.floor));
  const ratio = median(ratios);
  const floor = pooled(f.rounds.map((r) => r.floor));
  const broker = pooled(f.rounds.map((r) => r.broker));
  const bad = [f.warmFloor, f.warmBroker, floor, broker].reduce((n, r) => n + unanswered(r), 0);
  const broker200 = broker.statusCodes['200'] ?? 0;
  const checks = {
    ratio: ratio >= RATIO_TARGET,
    non2xx: bad === 0,
    rows: f.issuedRows === broker200,
    calls: f.assumeRoleCalls <= f.pairs,
  };
  const cpuPerAnswer = (side: 'floor' | 'broker') => {
    const cpu = f.rounds.reduce((n, r) => n + (side === 'floor' ? r.floorCpuMicros : r.brokerCpuMicros), 0);
    const answers = (side === 'floor' ? floor : broker).ok2xx;
    return answers > 0 ? Math.round(cpu / answers) : 'n/a';
  };
  const target = (label: string, measured: string, result: string) => `  ${label.padEnd(44)}${measured.padEnd(34)}${result}`;
  const codes = (r: LoadResult) => Object.entries(r.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ') || 'none';

  const lines = [
    '',
    'dab grant bench',
    `  store     ${f.storeLabel}`,
    `  load      ${f.connections} connections; ${f.rounds.length} rounds of ${f.seconds} s per server, after a warm-up of ${f.warmupSeconds} s ` +
      `or more each (until each of the ${f.variants} request variants from ${f.callers} callers was sent once)`,
    `  order     ${f.order}`,
    `  warm-up   floor ${f.warmFloor.okPerSecond.toFixed(1)} grants/s, broker ${f.warmBroker.okPerSecond.toFixed(1)} grants/s (not counted)`,
    '',
    '                    grants/s   p50 ms   p99 ms      2xx   non-2xx   errors   ratio',
    ...f.rounds.flatMap((r, i) => {
      const runs = [row(`${i + 1} floor`, r.floor), row(`${i + 1} broker`, r.broker, ratios[i]!.toFixed(2))];
      return i % 2 === 0 ? runs : runs.reverse();
    }),
    row('all floor', floor),
    row('all broker', broker, ratioOf(broker, floor).toFixed(2)),
    '  (all: throughput over the summed run time, median p50, worst p99)',
    `  status codes: floor ${codes(floor)}; broker ${codes(broker)}`,
    '',
    target('target', 'measured', 'result'),
    target(`broker/floor throughput >= ${RATIO_TARGET}`, `${ratio.toFixed(2)} (median of ${ratios.length} rounds)`, checks.ratio ? 'PASS' : 'FAIL (reported only: throughput is noisy)'),
    `    (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
    target('no non-2xx or errors (all runs)', String(bad), verdict(checks.non2xx)),
    target('credential.issued rows = 200s (broker runs)', `${f.issuedRows} rows / ${broker200} 200s`, verdict(checks.rows)),
    target('AssumeRole calls <= (caller, role) pairs', `${f.assumeRoleCalls} calls / ${f.pairs} pairs`, verdict(checks.calls)),
    '    (both counted over the whole life of this dab, warm-up included: every session is assumed during warm-up)',
    target('tokens signed / reused in their second', `${f.tokens.signed} / ${f.tokens.reused} (${reusedShare(f.tokens)} reused)`, '(info)'),
    `    (${f.variants} variants in rotation at ${Math.round(broker.okPerSecond)}/s: each comes round ~${(broker.okPerSecond / f.variants).toFixed(1)}×/s, ` +
      'and rds-signer would return the same bytes within one second)',
    target('CPU of the dab process per 2xx answer', `floor ${cpuPerAnswer('floor')} µs, broker ${cpuPerAnswer('broker')} µs`, '(info)'),
    '    (the cost behind the ratio, less moved by other processes: the process also holds the STS emulator, issuer and sealer)',
    target('peak RSS during the broker runs', `${(f.peakRssBytes / 2 ** 20).toFixed(1)} MiB`, '(info)'),
    `  ${f.rssNote}`,
    '',
  ];
  console.log(lines.join('\n'));
  const hardFailure = !checks.non2xx || !checks.rows || !checks.calls;
  console.log(hardFailure ? 'bench: FAILED a correctness target (see above)' : 'bench: correctness targets met');
  return hardFailure;
}
