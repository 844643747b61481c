import type { LoadResult } from './load-protocol.js';

export interface BenchFigures {
  storeLabel: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  callers: number;
  variants: number;
  order: string;
  floor: LoadResult;
  broker: LoadResult;
  warmFloor: LoadResult;
  warmBroker: LoadResult;
  peakRssBytes: number;
  rssNote: string;
  assumeRoleCalls: number;
  /** Distinct (caller, role) pairs among all credential.issued rows, warm-up included. */
  pairs: number;
  /** credential.issued rows written during the measured broker run. */
  issuedRows: number;
}

/** Throughput is noisy, so a ratio miss is reported but never fails the run. */
export const RATIO_TARGET = 0.8;

const pad = (s: string | number, n: number) => String(s).padStart(n);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

function row(name: string, r: LoadResult): string {
  return `  ${name.padEnd(8)}${pad(r.okPerSecond.toFixed(1), 10)}${pad(r.p50Ms, 9)}${pad(r.p99Ms, 9)}${pad(r.ok2xx, 9)}${pad(r.non2xx, 10)}${pad(r.errors, 9)}`;
}

const unanswered = (r: LoadResult) => r.non2xx + r.errors;

/** Prints the summary; returns true when a hard correctness target failed. */
export function printReport(f: BenchFigures): boolean {
  const ratio = f.floor.okPerSecond > 0 ? f.broker.okPerSecond / f.floor.okPerSecond : 0;
  const all = [f.warmFloor, f.warmBroker, f.floor, f.broker];
  const bad = all.reduce((n, r) => n + unanswered(r), 0);
  const broker200 = f.broker.statusCodes['200'] ?? 0;
  const checks = {
    ratio: ratio >= RATIO_TARGET,
    non2xx: bad === 0,
    rows: f.issuedRows === broker200,
    calls: f.assumeRoleCalls <= f.pairs,
  };
  const target = (label: string, measured: string, result: string) => `  ${label.padEnd(44)}${measured.padEnd(30)}${result}`;
  const codes = (r: LoadResult) => Object.entries(r.statusCodes).map(([c, n]) => `${c}×${n}`).join(' ') || 'none';

  const lines = [
    '',
    'dab grant bench',
    `  store     ${f.storeLabel}`,
    `  load      ${f.connections} connections, ${f.seconds} s measured per server, each after a warm-up of ${f.warmupSeconds} s ` +
      `or more (until each of the ${f.variants} request variants from ${f.callers} callers was sent once)`,
    `  order     ${f.order}`,
    `  warm-up   floor ${f.warmFloor.okPerSecond.toFixed(1)} grants/s, broker ${f.warmBroker.okPerSecond.toFixed(1)} grants/s (not counted)`,
    '',
    '            grants/s   p50 ms   p99 ms      2xx   non-2xx   errors',
    row('floor', f.floor),
    row('broker', f.broker),
    `  status codes: floor ${codes(f.floor)}; broker ${codes(f.broker)}`,
    '',
    target('target', 'measured', 'result'),
    target(`broker/floor throughput >= ${RATIO_TARGET}`, ratio.toFixed(2), checks.ratio ? 'PASS' : 'FAIL (reported only: throughput is noisy)'),
    target('no non-2xx or errors (all four runs)', String(bad), verdict(checks.non2xx)),
    target('credential.issued rows = 200s (broker run)', `${f.issuedRows} rows / ${broker200} 200s`, verdict(checks.rows)),
    target('AssumeRole calls <= (caller, role) pairs', `${f.assumeRoleCalls} calls / ${f.pairs} pairs`, verdict(checks.calls)),
    '    (both counted over the whole life of this dab, warm-up included: every session is assumed during warm-up)',
    target('peak RSS during the broker run', `${(f.peakRssBytes / 2 ** 20).toFixed(1)} MiB`, '(info)'),
    `  ${f.rssNote}`,
    '',
  ];
  console.log(lines.join('\n'));
  const hardFailure = !checks.non2xx || !checks.rows || !checks.calls;
  console.log(hardFailure ? 'bench: FAILED a correctness target (see above)' : 'bench: correctness targets met');
  return hardFailure;
}
