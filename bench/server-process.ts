import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OidcIssuer } from '../src/sandbox/oidc-issuer.js';
import type { StsEmulator } from '../src/sandbox/sts-emulator.js';
import { ADMIN_SUBJECT } from './bench-fixtures.js';

/** CPU time and memory of one process, read from /proc (Linux). */
export interface ProcUsage {
  /** User + system CPU time since the process started. */
  cpuMicros: number;
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM). */
  peakRssBytes: number;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  usage(): ProcUsage;
  /**
   * Starts VmHWM afresh (Linux: "5" into /proc/PID/clear_refs), so the peak of a setup step can be
   * told from the peak under load. False when the kernel or permissions do not allow it.
   */
  resetPeakRss(): boolean;
  /** The last lines the process wrote (stdout and stderr go to one log file). */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL if it has not exited within the grace time. Idempotent. */
  stop(): Promise<void>;
}

const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readUsage(pid: number): ProcUsage {
  // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count after ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { cpuMicros: Math.round((ticks * 1e6) / clockTicksPerSecond), rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** A loopback port nobody listens on right now (dab takes its port from config, not from us). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function wrap(name: string, child: ChildProcess, url: string, logFile: string, graceMs: number): ServerProcess {
  let stopping: Promise<void> | undefined;
  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  return {
    name,
    pid: child.pid!,
    url,
    usage() {
      // A server that died mid-bench voids the figures: say which, and why if it said so.
      if (exited(child) && !stopping) throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}) during the bench; its last output:\n${logTail()}`);
      return readUsage(child.pid!);
    },
    logTail,
    resetPeakRss() {
      try {
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    stop() {
      stopping ??= (async () => {
        if (exited(child)) return;
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => exited(child) || child.kill('SIGKILL'), graceMs);
        await gone;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Output of a child goes to its own log file, so a slow reader never stalls the server. */
function logTo(logFile: string): number {
  return openSync(logFile, 'a');
}

/**
 * The whole environment of a bench's `dab serve`: the issuer (and one admin, to register fixtures),
 * the STS endpoint and region, a fingerprint key and explicit AWS credentials. Nothing is
 * inherited: no DAB_* or AWS_* setting of the shell running the bench leaks in, nor ~/.aws files.
 * The caller adds the store (DATABASE_URL or DAB_STORE_EMBEDDED) and any DAB_CONFIG.
 */
export function dabServeEnv(opts: { workDir: string; port: number; issuer: OidcIssuer; sts: StsEmulator }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: opts.workDir,
    DAB_PORT: String(opts.port),
    DAB_ISSUERS: JSON.stringify([{ issuer: opts.issuer.issuer, audience: 'dab', jwksUrl: opts.issuer.jwksUrl }]),
    DAB_ADMINS: JSON.stringify([{ issuer: opts.issuer.issuer, subject: ADMIN_SUBJECT }]),
    DAB_AUDIT_FINGERPRINT_KEY: randomBytes(32).toString('hex'),
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: opts.sts.url,
    AWS_ACCESS_KEY_ID: opts.sts.baseCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.sts.baseCredentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(opts.workDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(opts.workDir, 'no-aws-credentials'),
  };
}

/**
 * Spawns dab exactly as an operator would (`node dist/src/cli/main.js serve`, configured only by
 * env) and waits until /readyz answers 200 (store open, migrations applied, listening).
 */
export async function spawnDab(opts: { mainJs: string; env: Record<string, string>; port: number; logFile: string; register: (p: ServerProcess) => void; nodeArgs?: string[] }): Promise<ServerProcess> {
  const fd = logTo(opts.logFile);
  // BENCH_DAB_CPU_PROF=<dir>: a V8 CPU profile of dab serve, written when it exits (see README).
  const profile = process.env.BENCH_DAB_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_DAB_CPU_PROF}`] : [];
  // nodeArgs: e.g. a test's TypeScript loader, to run src/cli/main.ts without a build.
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...profile, opts.mainJs, 'serve'], { env: opts.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const url = `http://127.0.0.1:${opts.port}`;
  // close-with-grace drains for up to 10 s; past that, it is killed.
  const server = wrap('dab', child, url, opts.logFile, 12_000);
  opts.register(server);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`dab serve exited (${child.signalCode ?? child.exitCode}) before it was ready:\n${server.logTail()}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`dab serve was not ready within 60 s:\n${server.logTail()}`);
}

/** Forks a floor server (floor-main.ts) and waits for the port it reports. */
export async function forkFloor(opts: { name: string; script: URL; env: Record<string, string>; logFile: string; register: (p: ServerProcess) => void }): Promise<ServerProcess> {
  const fd = logTo(opts.logFile);
  const child = fork(opts.script, [], { env: opts.env, stdio: ['ignore', fd, fd, 'ipc'] });
  closeSync(fd);
  const stub = wrap(opts.name, child, '', opts.logFile, 5_000);
  opts.register(stub);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.name} did not report a port within 30 s:\n${stub.logTail()}`)), 30_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited (${signal ?? code}) before it was ready:\n${stub.logTail()}`));
    });
  });
  return { ...stub, url: `http://127.0.0.1:${port}` };
}
