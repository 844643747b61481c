// A private, disposable PostgreSQL cluster built from the locally installed server
// binaries, for tests that need a real server they may crash, restart or reconfigure.
import { execFile, execFileSync } from 'node:child_process';
import { access, chown, mkdtemp, readFile, readdir, rm, appendFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ThrowawayPostgres {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  url(database?: string, user?: string): string;
  /** Fast shutdown, then removes the cluster's directory unless keepData is set. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Simulates a crash: immediate-mode stop (no checkpoint), so the next start runs crash recovery. */
  kill(): Promise<void>;
  /** Starts the server again after kill() or stop({ keepData: true }). */
  start(): Promise<void>;
}

export interface ThrowawayPostgresOptions {
  /** Default: a free ephemeral port. */
  port?: number;
  /** Extra postgresql.conf settings, e.g. { log_connections: 'on' }. */
  settings?: Record<string, string>;
}

/** PG_BIN if set, else the newest /usr/lib/postgresql/<version>/bin that has initdb. */
export async function findPostgresBinDir(): Promise<string | undefined> {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = await readdir(root).catch(() => [] as string[]);
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (await exists(path.join(bin, 'initdb'))) return bin;
  }
  return undefined;
}

/** Servers still running at exit; stopped synchronously so an aborted run leaves nothing behind. */
const live = new Map<string, () => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cleanup of live.values()) cleanup();
  });
}

export async function startThrowawayPostgres(opts: ThrowawayPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const binDir = await findPostgresBinDir();
  if (!binDir || !(await exists(path.join(binDir, 'initdb'))) || !(await exists(path.join(binDir, 'pg_ctl')))) {
    throw new Error(
      `PostgreSQL server binaries not found${binDir ? ` in ${binDir}` : ''}: install the postgresql server package ` +
        'or set PG_BIN to a directory containing initdb and pg_ctl (e.g. /usr/lib/postgresql/15/bin)',
    );
  }
  // The server refuses to run as root, so as root everything runs as the postgres OS user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? lookupUser('postgres') : undefined;
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(binDir, tool), ...args]] : [path.join(binDir, tool), args];

  const baseDir = await mkdtemp(path.join(os.tmpdir(), 'dab-pg-'));
  const dataDir = path.join(baseDir, 'data');
  const logFile = path.join(baseDir, 'postgres.log');
  const host = '127.0.0.1';
  let port = 0;
  let running = false;
  let removed = false;
  const run = (tool: string, args: string[], timeoutMs = 60_000): Promise<string> => {
    const [file, argv] = command(tool, args);
    return exec(tool, file, argv, baseDir, timeoutMs);
  };
  const stopSync = (): void => {
    try {
      const [file, argv] = command('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      if (running) execFileSync(file, argv, { cwd: baseDir, stdio: 'ignore', timeout: 10_000 });
    } catch {
      // Best effort: the process is exiting anyway.
    }
    rmSync(baseDir, { recursive: true, force: true });
  };

  const start = async (): Promise<void> => {
    if (removed) throw new Error(`throwaway PostgreSQL at ${dataDir} was stopped and removed`);
    if (running) return;
    try {
      await run('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile]);
    } catch (err) {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
      throw new Error(`${(err as Error).message}\n--- ${logFile} ---\n${tail}`);
    }
    running = true;
    live.set(baseDir, stopSync);
    await waitForTcp(host, port, 10_000);
  };

  try {
    if (owner) await chown(baseDir, owner.uid, owner.gid);
    await run('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // Settings go into postgresql.conf rather than pg_ctl -o, so a restart after kill() reuses them
    // and values never pass through pg_ctl's shell command line. Later lines win, which lets a
    // retry after losing the free-port race simply append a new port.
    const configure = (settings: Record<string, string>): Promise<void> => {
      const lines = Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'\n`);
      return appendFile(path.join(dataDir, 'postgresql.conf'), lines.join(''));
    };
    await configure({
      listen_addresses: host,
      unix_socket_directories: baseDir,
      // Speed without changing crash semantics: a killed server still recovers every commit,
      // since only OS-level durability is skipped (synchronous_commit stays on for that reason).
      fsync: 'off',
      full_page_writes: 'off',
      ...opts.settings,
    });
    installExitHook();
    for (let attempt = 1; ; attempt++) {
      port = opts.port ?? (await freePort(host));
      await configure({ port: String(port) });
      try {
        await start();
        break;
      } catch (err) {
        if (opts.port !== undefined || attempt >= 3 || !/could not (bind|create any TCP)/i.test((err as Error).message)) throw err;
      }
    }
  } catch (err) {
    stopSync();
    live.delete(baseDir);
    throw err;
  }

  return {
    host,
    get port() {
      return port;
    },
    dataDir,
    url(database = 'postgres', user = 'postgres') {
      return `postgres://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(database)}`;
    },
    async stop({ keepData = false } = {}) {
      if (running) {
        await run('pg_ctl', ['stop', '-w', '-t', '60', '-D', dataDir, '-m', 'fast']);
        running = false;
      }
      if (!keepData && !removed) {
        removed = true;
        live.delete(baseDir);
        await rm(baseDir, { recursive: true, force: true });
      }
    },
    async kill() {
      if (!running) return;
      await run('pg_ctl', ['stop', '-w', '-D', dataDir, '-m', 'immediate']);
      running = false;
    },
    start,
  };
}

function exec(tool: string, file: string, args: string[], cwd: string, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${tool} ${args.includes('start') ? 'start ' : ''}failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function lookupUser(name: string): { uid: number; gid: number } {
  try {
    const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`running as root, but there is no '${name}' OS user to run the PostgreSQL server as`);
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/** Asks the kernel for an unused port; a small race window remains, acceptable for tests. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** pg_ctl -w already waits for readiness; this confirms the TCP listener is reachable too. */
async function waitForTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host, port }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept TCP connections on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
