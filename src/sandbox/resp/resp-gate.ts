// An ElastiCache-like IAM authentication front for a real Redis / Valkey: TLS only, accepts
// AUTH <user> <token> and HELLO <2|3> AUTH <user> <token>, checks the token with an injected
// verifier, then talks to the upstream as the ACL user of that level. Every later AUTH / HELLO AUTH
// (a client re-authenticating before the 12 h limit) is checked the same way, so a client can
// never reach the upstream with credentials of its own choosing.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { gateHandle, gateSetup, listen, remoteIp, type GateHandle } from '../gate-handle.js';
import { CommandReader, RespProtocolError, UNAUTHENTICATED_LIMITS, encodeCommand, errorReply, type CommandLimits, type RespCommand } from './resp-commands.js';
import { HELLO_NOAUTH, NOAUTH, WRONGPASS, loginIntent, upstreamHello, type LoginIntent } from './resp-login.js';

export interface RespAuthRequest { user: string; token: string; remoteAddress: string }
/** On success, the upstream ACL user (and its password) the session runs as. */
export type RespAuthResult = { ok: true; upstream: { username: string; password: string } } | { ok: false; reason: string };
export interface RespGateLogEvent { event: string; user?: string; reason?: string; remoteAddress?: string }
export interface RespGateOptions {
  host?: string;
  port?: number;
  upstream: { host: string; port: number };
  authenticate(req: RespAuthRequest): Promise<RespAuthResult>;
  /** Default: a self-signed certificate for advertisedHost (default host), localhost and 127.0.0.1. */
  tls?: { key: string; cert: string };
  advertisedHost?: string;
  /** Connection events. Never carries a token or a password. */
  log?: (event: RespGateLogEvent) => void;
  /** A client that has not authenticated by then is dropped. Default 10000. */
  handshakeTimeoutMs?: number;
  /** ElastiCache closes an IAM connection 12 h after its last (re-)authentication. */
  maxSessionMs?: number;
}
export type RespGate = GateHandle;

// Authenticated clients may send big values; the gate holds one whole command, so it caps it.
const AUTHENTICATED_LIMITS: CommandLimits = { maxArgs: 1024 * 1024, maxBulkBytes: 64 * 1024 * 1024 };
export const MAX_SESSION_MS = 12 * 60 * 60 * 1000;

export async function startRespGate(opts: RespGateOptions): Promise<RespGate> {
  const host = opts.host ?? '127.0.0.1';
  const { creds, log } = await gateSetup<RespGateLogEvent>(opts.advertisedHost ?? host, opts.tls, opts.log);
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
  const maxSessionMs = opts.maxSessionMs ?? MAX_SESSION_MS;
  // A user no upstream has: a refused re-AUTH still goes upstream (as this user) so replies stay in order.
  const refusedUser = `dab-gate-refused-${randomBytes(8).toString('hex')}`;
  const sessions = new Set<Session>();

  const server = tls.createServer({ key: creds.key, cert: creds.cert, minVersion: 'TLSv1.2', handshakeTimeout: handshakeTimeoutMs }, (client) => {
    const session = new Session(client);
    sessions.add(session);
    session.run().catch((err: unknown) => session.fail(err));
  });
  server.on('tlsClientError', (err, sock) => {
    log({ event: 'tls_error', reason: err.message, remoteAddress: remoteIp(sock) });
    sock.destroy();
  });
  server.on('error', (err) => log({ event: 'server_error', reason: err.message }));
  const gatePort = await listen(server, opts.port ?? 0, host);

  class Session {
    readonly reader = new CommandReader();
    readonly remoteAddress: string;
    upstream?: net.Socket;
    user?: string;
    closed = false;
    timer: NodeJS.Timeout;
    #wake?: () => void;

    constructor(readonly client: tls.TLSSocket) {
      this.remoteAddress = remoteIp(client);
      log({ event: 'connection_received', remoteAddress: this.remoteAddress });
      client.on('data', (chunk: Buffer) => {
        this.reader.push(chunk);
        this.#wake?.();
      });
      client.on('error', () => {});
      client.on('close', () => this.teardown());
      client.on('end', () => this.#wake?.());
      this.timer = setTimeout(() => this.drop('handshake_timeout'), handshakeTimeoutMs);
    }

    /** One command at a time, in order: replies must come back in the order commands were sent. */
    async run(): Promise<void> {
      for (;;) {
        const cmd = await this.nextCommand();
        if (!cmd) return this.finishUpstream();
        this.client.pause(); // while a token is being checked, TCP holds what comes next
        await (this.upstream ? this.relayed(cmd) : this.unauthenticated(cmd));
        if (this.closed) return;
        // Backpressure: a client outrunning the upstream waits for it, instead of filling the gate.
        if (this.upstream?.writableNeedDrain) this.upstream.once('drain', () => this.client.resume());
        else this.client.resume();
      }
    }

    async nextCommand(): Promise<RespCommand | undefined> {
      for (;;) {
        const cmd = this.reader.next(this.upstream ? AUTHENTICATED_LIMITS : UNAUTHENTICATED_LIMITS);
        if (cmd || this.closed || this.client.readableEnded) return cmd;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    }

    /** Before login: AUTH / HELLO AUTH / QUIT, everything else is NOAUTH (as ElastiCache answers). */
    async unauthenticated(cmd: RespCommand): Promise<void> {
      // A client that sends without reading its NOAUTH replies is dropped, as Redis's output buffer limit does.
      if (this.client.writableLength > 1024 * 1024) return this.drop('output_buffer_limit');
      const intent = loginIntent(cmd.args);
      if (intent.kind === 'quit') return this.closeWith(Buffer.from('+OK\r\n'));
      if (intent.kind === 'error') return void this.client.write(intent.reply);
      if (intent.kind === 'other') return void this.client.write(NOAUTH);
      const credentials = intent.kind === 'auth' ? intent : intent.credentials;
      if (!credentials) return void this.client.write(HELLO_NOAUTH);
      const result = await this.check(credentials);
      if (this.closed) return;
      if (!result.ok) return void this.client.write(WRONGPASS);
      const authReply = await this.openUpstream(result.upstream);
      if (authReply === undefined || this.closed) return this.teardown();
      if (!authReply.startsWith('+')) {
        // The ACL user is missing or disabled upstream: refuse, and never relay as whoever that socket is.
        log({ event: 'upstream_rejected', user: credentials.user, reason: authReply, remoteAddress: this.remoteAddress });
        this.upstream?.destroy();
        this.upstream = undefined;
        return void this.client.write(WRONGPASS);
      }
      this.loggedIn(credentials.user, 'authorized');
      // AUTH's own +OK goes to the client; HELLO's reply (server info, protocol switch) comes from upstream.
      if (intent.kind === 'auth') this.client.write(`${authReply}\r\n`);
      this.startRelay();
      if (intent.kind === 'hello') this.toUpstream(upstreamHello(intent));
    }

    /** After login: everything is relayed, AUTH / HELLO AUTH rewritten after their token is checked. */
    async relayed(cmd: RespCommand): Promise<void> {
      const intent = loginIntent(cmd.args);
      const credentials = intent.kind === 'auth' ? intent : intent.kind === 'hello' ? intent.credentials : undefined;
      if (!credentials) return this.toUpstream(cmd.raw);
      const result = await this.check(credentials);
      if (this.closed) return;
      const auth = result.ok ? result.upstream : { username: refusedUser, password: 'refused' };
      if (result.ok) this.loggedIn(credentials.user, 'reauthorized');
      this.toUpstream(intent.kind === 'hello' ? upstreamHello(intent as Extract<LoginIntent, { kind: 'hello' }>, auth) : encodeCommand(['AUTH', auth.username, auth.password]));
    }

    async check({ user, token }: { user: string; token: string }): Promise<RespAuthResult> {
      let result: RespAuthResult;
      try {
        const r = token ? await opts.authenticate({ user, token, remoteAddress: this.remoteAddress }) : { ok: false as const, reason: 'empty token' };
        result = r?.ok === true ? r : { ok: false, reason: r?.reason ?? 'authenticate returned no result' };
      } catch (err) {
        result = { ok: false, reason: `authenticate threw: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!result.ok) log({ event: 'auth_failed', user, reason: result.reason, remoteAddress: this.remoteAddress });
      return result;
    }

    loggedIn(user: string, event: 'authorized' | 'reauthorized'): void {
      this.user = user;
      log({ event, user, remoteAddress: this.remoteAddress });
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.drop('session_expired'), maxSessionMs);
    }

    /** Connects and logs in as the ACL user; resolves to the upstream's first reply line. */
    async openUpstream(acl: { username: string; password: string }): Promise<string | undefined> {
      const upstream = net.connect({ host: opts.upstream.host, port: opts.upstream.port });
      this.upstream = upstream;
      upstream.setNoDelay(true);
      return new Promise<string | undefined>((resolve) => {
        let pending = Buffer.alloc(0);
        const onData = (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          const end = pending.indexOf('\r\n');
          if (end < 0 && pending.length < 4096) return;
          upstream.off('data', onData);
          upstream.pause();
          if (end + 2 < pending.length) upstream.unshift(pending.subarray(end + 2));
          resolve(pending.toString('utf8', 0, end < 0 ? 4096 : end));
        };
        upstream.on('data', onData);
        upstream.on('error', (err) => {
          log({ event: 'upstream_error', reason: err.message, remoteAddress: this.remoteAddress });
          this.teardown();
          resolve(undefined);
        });
        upstream.once('close', () => resolve(undefined)); // before its reply: nothing to relay
        upstream.write(encodeCommand(['AUTH', acl.username, acl.password]));
      });
    }

    startRelay(): void {
      const { upstream, client } = this;
      if (!upstream) return;
      upstream.on('data', (chunk: Buffer) => {
        if (!client.write(chunk)) upstream.pause();
      });
      upstream.on('close', () => this.finishClient());
      client.on('drain', () => upstream.resume());
      upstream.resume();
    }

    toUpstream(bytes: Buffer): void {
      this.upstream?.write(bytes);
    }

    /** The client hung up: let the upstream finish what it was sent, then close. */
    finishUpstream(): void {
      if (!this.upstream) return this.teardown();
      this.upstream.end();
      setTimeout(() => this.teardown(), 2000).unref();
    }

    /** The upstream closed (e.g. after QUIT): flush what it said to the client, then close. */
    finishClient(): void {
      if (this.closed) return;
      this.client.end();
      setTimeout(() => this.teardown(), 1000).unref();
    }

    closeWith(reply: Buffer): void {
      this.client.end(reply);
      this.upstream?.destroy();
      setTimeout(() => this.teardown(), 1000).unref();
      this.closed = true;
    }

    drop(event: string): void {
      log({ event, ...(this.user ? { user: this.user } : {}), remoteAddress: this.remoteAddress });
      this.teardown();
    }

    fail(err: unknown): void {
      if (this.closed) return;
      const reason = err instanceof Error ? err.message : String(err);
      log({ event: 'protocol_error', reason, remoteAddress: this.remoteAddress });
      if (err instanceof RespProtocolError) this.closeWith(errorReply(`ERR Protocol error: ${reason}`));
      else this.teardown();
    }

    /** Destroys both sockets; idempotent. */
    teardown(): void {
      this.closed = true;
      this.#wake?.();
      if (!sessions.delete(this)) return;
      clearTimeout(this.timer);
      this.client.destroy();
      this.upstream?.destroy();
    }
  }

  return gateHandle(server, host, gatePort, creds.cert, sessions, (s) => s.teardown());
}
