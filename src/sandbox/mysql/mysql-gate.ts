// An RDS-like IAM authentication front for a real MySQL/MariaDB, like iam-gate.ts for PostgreSQL:
// requires TLS, asks the client for its cleartext password (auth switch to mysql_clear_password,
// as RDS's AWSAuthenticationPlugin does), checks it as an rds-db token, then logs in upstream as
// that user with the password the sandbox holds for it and relays bytes both ways.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { GateAuthRequest, GateAuthResult, GateLogEvent } from '../iam-gate.js';
import { gateHandle, gateSetup, remoteIp, type GateHandle } from '../gate-handle.js';
import {
  authSwitch, CLIENT, ConnectionClosed, errMessage, errPacket, greeting, handshakeResponse, isSslRequest, nativePasswordScramble, packet,
  PacketReader, parseAuthSwitch, parseGreeting, parseHandshakeResponse, WireError,
} from './mysql-wire.js';

export interface MysqlGateOptions {
  host?: string;
  port?: number;
  /** The host the tokens must be signed for. Default: host. */
  advertisedHost?: string;
  upstream: { host: string; port: number };
  /** The upstream password of each DB user the gate may log in as. */
  upstreamPassword(user: string): string | undefined;
  authenticate(req: GateAuthRequest): Promise<GateAuthResult>;
  tls?: { key: string; cert: string };
  log?: (event: GateLogEvent) => void;
  handshakeTimeoutMs?: number;
}
export type MysqlGate = GateHandle;

interface Conn { raw: net.Socket; client: net.Socket | tls.TLSSocket; upstream: net.Socket; closed: boolean; timer: NodeJS.Timeout }

const ACCESS_DENIED = 1045;
// Capabilities the gate cannot relay (compression) or handles itself (TLS, connection attributes).
const NOT_RELAYED = CLIENT.COMPRESS | CLIENT.ZSTD | CLIENT.SSL | CLIENT.CONNECT_ATTRS;

export async function startMysqlGate(opts: MysqlGateOptions): Promise<MysqlGate> {
  const host = opts.host ?? '127.0.0.1';
  const advertisedHost = opts.advertisedHost ?? host;
  const { creds, secureContext, log } = await gateSetup<GateLogEvent>(advertisedHost, opts.tls, opts.log);
  const conns = new Set<Conn>();

  const server = net.createServer((raw) => {
    raw.on('error', () => {});
    const upstream = net.connect(opts.upstream);
    upstream.on('error', (err) => log({ event: 'upstream_error', reason: err.message }));
    const conn: Conn = { raw, client: raw, upstream, closed: false, timer: setTimeout(() => teardown(conn), opts.handshakeTimeoutMs ?? 10_000) };
    conns.add(conn);
    raw.on('close', () => teardown(conn));
    upstream.on('close', () => teardown(conn));
    log({ event: 'connection_received', remoteAddress: remoteIp(raw) });
    handshake(conn).catch((err: unknown) => {
      if (conn.closed) return;
      const reason = err instanceof Error ? err.message : String(err);
      log({ event: err instanceof ConnectionClosed ? 'client_disconnected' : 'protocol_error', reason, remoteAddress: remoteIp(raw) });
      // 1043 ER_HANDSHAKE_ERROR: what the server answers a handshake it cannot read.
      if (err instanceof WireError) closeWith(conn, packet(2, errPacket(1043, '08S01', 'Bad handshake')));
      else teardown(conn);
    });
  });
  server.on('error', (err) => log({ event: 'server_error', reason: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const gatePort = (server.address() as net.AddressInfo).port;

  function teardown(conn: Conn): void {
    if (!conns.delete(conn)) return;
    conn.closed = true;
    clearTimeout(conn.timer);
    for (const s of [conn.client, conn.raw, conn.upstream]) s.destroy();
  }

  function closeWith(conn: Conn, final: Buffer): void {
    if (conn.closed || !conn.client.writable) return teardown(conn);
    conn.client.end(final);
    conn.client.resume();
    conn.upstream.destroy();
    setTimeout(() => teardown(conn), 1000).unref();
  }

  /** TLS on the same connection; bytes of the ClientHello that came with the SSLRequest are fed in first. */
  async function upgrade(conn: Conn, early: Buffer): Promise<tls.TLSSocket> {
    const { raw } = conn;
    const carrier = new Duplex({
      read() {},
      write(chunk, _enc, done) {
        raw.write(chunk, done);
      },
      final(done) {
        raw.end();
        done();
      },
    });
    if (early.length) carrier.push(early);
    raw.on('data', (d: Buffer) => carrier.push(d));
    raw.on('end', () => carrier.push(null));
    const secure = new tls.TLSSocket(carrier as unknown as net.Socket, { isServer: true, secureContext });
    conn.client = secure;
    secure.on('error', () => teardown(conn));
    secure.on('close', () => teardown(conn));
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('close', () => reject(new ConnectionClosed('connection closed during TLS handshake')));
    });
    return secure;
  }

  async function handshake(conn: Conn): Promise<void> {
    const remoteAddress = remoteIp(conn.raw);
    const upReader = new PacketReader(conn.upstream);
    const upstreamHello = parseGreeting((await upReader.read().catch(() => { throw new Error('upstream did not greet'); })).payload);
    // The client sees upstream's server and capabilities (so both agree once bytes are relayed),
    // plus TLS, and a nonce of the gate's own.
    const ours = { ...upstreamHello, nonce: randomBytes(20), capabilities: ((upstreamHello.capabilities & ~NOT_RELAYED) | CLIENT.SSL | CLIENT.PLUGIN_AUTH) >>> 0, plugin: 'mysql_native_password' };
    conn.raw.write(packet(0, greeting(ours)));

    let reader = new PacketReader(conn.raw);
    let first = await reader.read();
    if (isSslRequest(first.payload)) {
      const early = reader.detach();
      const secure = await upgrade(conn, early);
      reader = new PacketReader(secure);
      first = await reader.read();
    }
    const hello = parseHandshakeResponse(first.payload);
    let seq = first.seq + 1;
    const deny = (reason: string) => {
      log({ event: 'authentication_failed', user: hello.user, reason, remoteAddress });
      closeWith(conn, packet(seq, errPacket(ACCESS_DENIED, '28000', `Access denied for user '${hello.user}'@'${remoteAddress}' (using password: YES)`)));
    };
    // RDS IAM users are REQUIRE SSL: a plain-text login is refused like a wrong password.
    if (!(conn.client instanceof tls.TLSSocket)) return deny('tls_required');

    // Ask for the token in clear (inside TLS), as AWSAuthenticationPlugin does.
    let password: Buffer;
    if (hello.plugin === 'mysql_clear_password') {
      password = hello.authData;
    } else {
      conn.client.write(packet(seq, authSwitch('mysql_clear_password', Buffer.alloc(0))));
      const answer = await reader.read();
      seq = answer.seq + 1;
      password = answer.payload;
    }
    const token = password.toString('utf8').replace(/\0$/, '');
    const verdict = await opts.authenticate({ user: hello.user, database: hello.database ?? '', password: token, gateHost: advertisedHost, gatePort, remoteAddress });
    if (conn.closed) return;
    if (!verdict.ok) return deny(verdict.reason);
    const upstreamPassword = opts.upstreamPassword(hello.user);
    if (upstreamPassword === undefined) return deny('no_upstream_user');

    // Upstream login as the same user, with the client's capabilities (minus what the gate handles).
    const capabilities = ((hello.capabilities & ~NOT_RELAYED) | CLIENT.PLUGIN_AUTH | CLIENT.SECURE_CONNECTION) >>> 0;
    const { plugin: _p, ...rest } = hello;
    conn.upstream.write(packet(1, handshakeResponse({ ...rest, capabilities, authData: nativePasswordScramble(upstreamPassword, upstreamHello.nonce), plugin: 'mysql_native_password' })));
    for (;;) {
      const reply = await upReader.read().catch(() => { throw new Error('upstream closed during login'); });
      const kind = reply.payload[0];
      if (kind === 0x00) {
        clearTimeout(conn.timer);
        log({ event: 'connection_authorized', user: hello.user, remoteAddress });
        conn.client.write(packet(seq, reply.payload));
        return relay(conn, reader.detach(), upReader.detach());
      }
      if (kind === 0xff) {
        log({ event: 'upstream_rejected', user: hello.user, reason: errMessage(reply.payload), remoteAddress });
        return deny('upstream_rejected');
      }
      if (kind === 0xfe) {
        const sw = parseAuthSwitch(reply.payload);
        const data = sw.plugin === 'mysql_native_password' ? nativePasswordScramble(upstreamPassword, sw.data) : Buffer.from(`${upstreamPassword}\0`);
        conn.upstream.write(packet(reply.seq + 1, data));
        continue;
      }
      throw new Error('unexpected upstream reply during login');
    }
  }

  function relay(conn: Conn, fromClient: Buffer, fromUpstream: Buffer): void {
    if (conn.closed) return;
    if (fromClient.length) conn.upstream.write(fromClient);
    if (fromUpstream.length) conn.client.write(fromUpstream);
    conn.client.pipe(conn.upstream);
    conn.upstream.pipe(conn.client);
  }

  return gateHandle(server, host, gatePort, creds.cert, conns, teardown);
}
