// npm run bench:cli: how long the `dab` commands a person types take, wall clock, next to a bare
// `node -e 0` on the same machine in the same run (Node's own start-up is the floor no CLI of ours
// can go under). `dab creds` includes its HTTP call to a running `dab serve` (embedded store, STS
// emulator, local issuer, all on loopback). Runs alternate, so drift falls on every command alike.
// Knobs: BENCH_CLI_RUNS (15).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { planDistinct, registerBenchFixtures, startBenchSurroundings } from './bench-fixtures.js';
import { median } from './bench-report.js';
import { createCleanupStack } from './cleanup-stack.js';
import { dabServeEnv, freePort, spawnDab } from './server-process.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS || 15);
if (!Number.isInteger(RUNS) || RUNS < 3) throw new Error(`BENCH_CLI_RUNS must be a whole number ≥ 3, got "${process.env.BENCH_CLI_RUNS}"`);
const mainJs = new URL('../src/cli/main.js', import.meta.url).pathname;
const { onCleanup, cleanUp } = createCleanupStack();

/**
 * Wall-clock ms of one run; a failed run voids the bench (its output says why). Asynchronous: the
 * issuer and the STS emulator live in this process and must answer while the command runs.
 */
function timed(args: string[], env: Record<string, string>): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node ${args.join(' ')} failed (${err.code ?? err.signal}): ${stderr || stdout}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

try {
  const { workDir, sts, issuer } = await startBenchSurroundings(onCleanup, 'dab-cli-bench-');
  const port = await freePort();
  const env = { ...dabServeEnv({ workDir, port, issuer, sts }), DAB_STORE_EMBEDDED: 'true', DAB_DATA_DIR: join(workDir, 'store') };
  const dab = await spawnDab({ mainJs, port, env, logFile: join(workDir, 'dab.log'), register: (p) => onCleanup(() => p.stop()) });
  const [entries] = await registerBenchFixtures(dab.url, issuer, [planDistinct(1)], () => undefined);
  const entry = entries![0]!;
  const { database, access } = JSON.parse(entry.body) as { database: string; access: string };

  // The CLI sees only what a user's shell would set for it.
  const cliEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir, DAB_URL: dab.url, DAB_TOKEN: entry.token };
  const commands: Array<[string, string[]]> = [
    ['node -e 0 (floor)', ['-e', '0']],
    ['dab --version', [mainJs, '--version']],
    ['dab --help', [mainJs, '--help']],
    ['dab creds (HTTP call included)', [mainJs, 'creds', database, '--access', access, '--format', 'token']],
  ];
  const samples = new Map<string, number[]>(commands.map(([label]) => [label, []]));
  for (const [, args] of commands) await timed(args, cliEnv); // warm the file cache
  for (let r = 0; r < RUNS; r++) {
    for (const [label, args] of r % 2 ? [...commands].reverse() : commands) samples.get(label)!.push(await timed(args, cliEnv));
  }
  const floor = median(samples.get(commands[0]![0])!);
  console.log(`dab CLI wall-clock times, ${RUNS} runs each, alternating (${process.version})`);
  for (const [label] of commands) {
    const xs = samples.get(label)!;
    const sorted = [...xs].sort((a, b) => a - b);
    const m = median(xs);
    const extra = label === commands[0]![0] ? '' : `  (node + ${(m - floor).toFixed(0)} ms)`;
    console.log(`  ${label.padEnd(32)} median ${m.toFixed(0).padStart(5)} ms  min ${sorted[0]!.toFixed(0).padStart(5)}  max ${sorted[sorted.length - 1]!.toFixed(0).padStart(5)}${extra}`);
  }
} finally {
  await cleanUp();
}
