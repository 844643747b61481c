// A private, disposable Redis (or Valkey) server from the installed binary, for the sandbox and for
// tests that stop or break their server: nothing persisted, loopback only, gone at exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export interface ThrowawayRedis {
  readonly host: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** REDIS_SERVER if set, else valkey-server or redis-server on PATH. */
export async function findRedisServer(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.REDIS_SERVER) return env.REDIS_SERVER;
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of ['valkey-server', 'redis-server']) {
      const file = path.join(dir, name);
      if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
    }
  }
  return undefined;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

async function freePort(host: string): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, host, resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Resolves once the server answers PING (raw RESP: nothing else is needed to know it is up). */
async function waitUntilUp(host: string, port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output().slice(-500)}`);
    const up = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, host, () => sock.write('PING\r\n'));
      sock.setTimeout(500, () => sock.destroy());
      sock.once('data', (d) => (sock.destroy(), resolve(d.toString().startsWith('+PONG'))));
      sock.once('error', () => resolve(false));
      sock.once('close', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${host}:${port} did not come up: ${output().slice(-500)}`);
}

export async function startThrowawayRedis(opts: { binary?: string } = {}): Promise<ThrowawayRedis> {
  const binary = opts.binary ?? (await findRedisServer());
  if (!binary) throw new Error('no redis-server or valkey-server on PATH: install one (e.g. apt-get install redis-server) or set REDIS_SERVER');
  const host = '127.0.0.1';
  const port = await freePort(host);
  // No persistence, no protected-mode surprises, loopback only; the default user stays nopass for the admin connection.
  const child = spawn(binary, ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  try {
    await waitUntilUp(host, port, child, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => (clearTimeout(hard), resolve()));
        child.kill('SIGTERM');
      });
      return stopping;
    },
  };
}
