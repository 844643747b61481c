import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { ProxyBackend } from './round-robin-proxy.js';
import type { BackendStats } from './round-robin-proxy.js';
import { freePort, spawnDab, type ServerProcess } from './server-process.js';

export interface Replica {
  name: string;
  port: number;
  proc: ServerProcess;
  /** Set once it was killed or stopped on purpose: its usage is no longer read. */
  gone: boolean;
}

/**
 * `dab serve` processes on one store, started one after another (the first applies the
 * migrations), all with one environment but the port: the same fingerprint and event-MAC keys, so
 * each can verify what the others wrote.
 */
export async function startReplicas(opts: { names: string[]; env: Record<string, string>; workDir: string; register: (p: ServerProcess) => void; mainJs?: string; nodeArgs?: string[] }): Promise<Replica[]> {
  const replicas: Replica[] = [];
  for (const name of opts.names) {
    const port = await freePort();
    const proc = await spawnDab({
      mainJs: opts.mainJs ?? new URL('../src/cli/main.js', import.meta.url).pathname,
      ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
      port,
      logFile: join(opts.workDir, `${name}.log`),
      register: opts.register,
      env: { ...opts.env, DAB_PORT: String(port) },
    });
    replicas.push({ name, port, proc, gone: false });
  }
  return replicas;
}

const ticks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU of a process (µs), or undefined once it is gone. */
export function cpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Math.round(((Number(f[11]) + Number(f[12])) * 1e6) / ticks);
  } catch {
    return undefined;
  }
}

/**
 * CPU of the PostgreSQL backends serving one database (the bench's own, fresh per run): the
 * server is shared with others, so its whole CPU would not be ours. Background processes (WAL
 * writer, checkpointer) are left out; the backends do the work of the INSERTs and commits.
 */
export function createStoreCpu(counter: pg.Client) {
  const pids = async () => (await counter.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => r.pid);
  return {
    async snapshot(): Promise<Map<number, number>> {
      const m = new Map<number, number>();
      for (const pid of await pids()) m.set(pid, cpuMicros(pid) ?? 0);
      return m;
    },
    /** CPU spent since `before` by backends alive now (those started since count from zero). */
    async since(before: Map<number, number>): Promise<number> {
      let sum = 0;
      for (const pid of await pids()) sum += (cpuMicros(pid) ?? 0) - (before.get(pid) ?? 0);
      return sum;
    },
  };
}

export interface ProxyProcess {
  url: string;
  pid: number;
  setBackends(backends: ProxyBackend[]): Promise<void>;
  stats(): Promise<Record<string, BackendStats>>;
  stop(): void;
}

/** The round-robin proxy (proxy-main.ts) in its own process. */
export async function forkProxy(backends: ProxyBackend[]): Promise<ProxyProcess> {
  const child: ChildProcess = fork(new URL('./proxy-main.js', import.meta.url), [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PROXY_BACKENDS: JSON.stringify(backends) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Set<(err: Error) => void>();
  child.once('exit', (code) => {
    for (const reject of waiting) reject(new Error(`proxy exited (${code})`));
  });
  const reply = <T>(kind: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { kind: string }) => {
        if (m.kind !== kind) return;
        child.off('message', onMessage);
        waiting.delete(reject);
        resolve(m as T);
      };
      waiting.add(reject);
      child.on('message', onMessage);
    });
  const { port } = await reply<{ port: number }>('ready');
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async setBackends(list) {
      const done = reply('backends');
      child.send({ kind: 'backends', backends: list });
      await done;
    },
    async stats() {
      const done = reply<{ stats: Record<string, BackendStats> }>('stats');
      child.send({ kind: 'stats' });
      return (await done).stats;
    },
    stop: () => void child.kill('SIGKILL'),
  };
}
