import type { LoadResult } from './load-protocol.js';
import type { ChainCheck, Disruption, Propagation } from './replica-phases.js';

export interface CountFigures {
  replicas: number;
  runs: Array<{ run: LoadResult; dabCpuMicros: number[]; storeCpuMicros: number; proxyCpuMicros: number }>;
  assumeRoleInRuns: number;
  /** Client connections the proxy gave each replica during the runs. */
  connections: number[];
}

export interface ReplicaReport {
  storeLabel: string;
  loadAtStart: number[];
  loadAtEnd: number[];
  connections: number;
  seconds: number;
  callers: number;
  floor: LoadResult;
  counts: CountFigures[];
  propagation: Propagation;
  disruptions: Disruption[];
  chain: ChainCheck;
  rowsWritten: Record<string, number>;
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** CPU time over wall time, in cores (1.0 = one core busy all along). */
const cores = (micros: number, run: LoadResult) => micros / 1e6 / Math.max(run.elapsedSeconds, 1e-9);

/** Prints the figures; true when every hard property held (no missing rows, no client error, chain intact). */
export function printReplicaReport(r: ReplicaReport): boolean {
  const out: string[] = [];
  out.push(`bench:replicas — ${r.storeLabel}`);
  out.push(`machine: ${r.loadAtStart.map(f1).join(' / ')} load (1/5/15 min) at start, ${r.loadAtEnd.map(f1).join(' / ')} at the end; shared with other work`);
  out.push(`load: npm run bench's distinct mix (${r.callers} callers, one variant each), ${r.connections} connections, ${r.seconds} s runs, through a loopback TCP round-robin proxy`);
  out.push(`lean floor (one process, the cheapest audited endpoint): ${f0(r.floor.okPerSecond)} grants/s, p99 ${f1(r.floor.p99Ms)} ms`);
  out.push('');
  out.push('replicas | grants/s (median of runs) | p99 ms | dab CPU per process (of one core) | connections per process | store backends | proxy | non-2xx | AssumeRole in runs');
  for (const c of r.counts) {
    const ok = median(c.runs.map((x) => x.run.okPerSecond));
    const p99 = median(c.runs.map((x) => x.run.p99Ms));
    const dab = c.runs[0]!.dabCpuMicros.map((_, i) => f1(median(c.runs.map((x) => cores(x.dabCpuMicros[i]!, x.run))) * 100) + '%').join(' ');
    const store = median(c.runs.map((x) => cores(x.storeCpuMicros, x.run)));
    const proxy = median(c.runs.map((x) => cores(x.proxyCpuMicros, x.run)));
    const non2xx = c.runs.reduce((n, x) => n + x.run.non2xx + x.run.errors, 0);
    out.push(`${c.replicas} | ${f0(ok)} | ${f1(p99)} | ${dab} | ${c.connections.join(' ')} | ${f1(store * 100)}% | ${f1(proxy * 100)}% | ${non2xx} | ${c.assumeRoleInRuns}`);
  }
  out.push(`audit rows each replica committed by then: ${Object.entries(r.rowsWritten).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push('');
  const p = r.propagation;
  out.push(`propagation: ${p.changes} mapping changes (grant, revoke, ...) through dab-a; ${p.answered.samples.length} (change, replica) pairs measured on dab-b and dab-c`);
  out.push(`  enforced by the time the first enforcing grant was sent (its decision came after): median ${f1(p.sent.p50Ms)} ms, p99 ${f1(p.sent.p99Ms)} ms, worst ${f1(p.sent.worstMs)} ms after the change's answer`);
  out.push(`  ... and answered (an upper bound, a whole grant's latency included): median ${f1(p.answered.p50Ms)} ms, p99 ${f1(p.answered.p99Ms)} ms, worst ${f1(p.answered.worstMs)} ms; not enforced within 5 s: ${p.timedOut}`);
  out.push('');
  let hard = p.timedOut === 0;
  for (const d of r.disruptions) {
    const retried = Object.entries(d.run.retried).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
    const other = Object.entries(d.run.otherStatuses).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
    out.push(`${d.what} a third into ${f1(d.run.elapsedMs / 1000)} s of load (16 concurrent retrying requests):`);
    out.push(`  200s ${d.run.ok} (${d.run.okAfterAction} after it), 200s without their committed audit row: ${d.withoutRow}`);
    out.push(`  attempts retried: ${retried}; requests failed after every retry: ${d.run.failed}; other answers: ${other}`);
    out.push(`  new connections the proxy found refused there and sent elsewhere: ${d.rerouted}${d.exitMs === undefined ? '' : `; it exited ${f0(d.exitMs)} ms after the signal`}`);
    hard &&= d.withoutRow === 0 && d.run.failed === 0 && d.run.okAfterAction > 0 && Object.keys(d.run.otherStatuses).length === 0;
  }
  const ch = r.chain;
  out.push('');
  out.push(`chain (dab's verify through dab-a, after all three wrote and sealed at once): ${ch.result}; ${ch.checkedEvents} events in ${ch.checkedSeals} seals checked, event MACs checked ${ch.eventMacsChecked ?? 'n/a'}, unsealed ${ch.unsealedEvents}`);
  hard &&= ch.ok;
  out.push(hard ? 'all hard properties held' : 'A HARD PROPERTY FAILED (see above)');
  console.log(out.join('\n'));
  return hard;
}
