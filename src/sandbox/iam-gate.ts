// An RDS-like IAM authentication front for a real PostgreSQL: requires TLS, asks for a
// cleartext password (the RDS IAM token), checks it with an injected verifier, then
// opens the upstream session as that user and relays bytes both ways.
import net from 'node:net';
import tls from 'node:tls';
import {
  AUTH_CLEARTEXT, AUTH_OK, CANCEL_REQUEST_CODE, ConnectionClosed, GSSENC_REQUEST_CODE, PacketReader, SSL_REQUEST_CODE,
  UpstreamAuth, WireError, authRequest, cancelRequest, decodeUtf8, errorMessageText, errorResponse, negotiateProtocolVersion,
  parseStartupParams, startupMessage,
} from './pg-wire.js';
import { gateHandle, gateSetup, listen, remoteIp, type GateHandle } from './gate-handle.js';

export interface GateAuthRequest { user: string; database: string; password: string; gateHost: string; gatePort: number; remoteAddress: string }
export type GateAuthResult = { ok: true } | { ok: false; reason: string };
export interface GateLogEvent { event: string; user?: string; reason?: string; remoteAddress?: string }
export interface IamGateOptions {
  host?: string;
  port?: number;
  /** The host the tokens must be signed for; passed to authenticate as gateHost. Default: host. */
  advertisedHost?: string;
  upstream: { host: string; port: number };
  /** For upstream servers that are not on trust auth (cleartext, md5 and SCRAM-SHA-256 supported). */
  upstreamPassword?: (user: string) => string | undefined;
  authenticate(req: GateAuthRequest): Promise<GateAuthResult>;
  /** Default: a self-signed certificate for advertisedHost, localhost and 127.0.0.1. */
  tls?: { key: string; cert: string };
  /** Connection events, in the spirit of log_connections. Never carries the password. */
  log?: (event: GateLogEvent) => void;
  /** A client that has not finished authenticating by then is dropped. Default 10000. */
  handshakeTimeoutMs?: number;
}
export type IamGate = GateHandle;

/** One client connection: the TCP socket, the TLS socket layered on it (if any), and the upstream session. */
interface Conn { raw: net.Socket; client: net.Socket; upstream?: net.Socket; relaying: boolean; closed: boolean; timer?: NodeJS.Timeout }

const MAX_UPSTREAM_MESSAGE = 1024 * 1024;

export async function startIamGate(opts: IamGateOptions): Promise<IamGate> {
  const host = opts.host ?? '127.0.0.1';
  const advertisedHost = opts.advertisedHost ?? host;
  const handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
  const { creds, secureContext, log } = await gateSetup<GateLogEvent>(advertisedHost, opts.tls, opts.log);
  const conns = new Set<Conn>();

  const server = net.createServer((raw) => {
    const conn: Conn = { raw, client: raw, relaying: false, closed: false };
    conns.add(conn);
    log({ event: 'connection_received', remoteAddress: remoteIp(raw) });
    // Errors are always followed by 'close'. Once upgraded, the TLS socket's 'close' takes over.
    raw.on('error', () => {});
    raw.on('close', () => conn.client === raw && clientClosed(conn));
    raw.setNoDelay(true);
    conn.timer = setTimeout(() => {
      log({ event: 'handshake_timeout', remoteAddress: remoteIp(raw) });
      teardown(conn);
    }, handshakeTimeoutMs);
    handshake(conn).catch((err: unknown) => {
      if (conn.closed) return;
      const reason = err instanceof Error ? err.message : String(err);
      log({ event: err instanceof ConnectionClosed ? 'client_disconnected' : 'protocol_error', reason, remoteAddress: remoteIp(raw) });
      if (err instanceof WireError && err.sqlState) closeWith(conn, errorResponse('FATAL', err.sqlState, err.message));
      else teardown(conn);
    });
  });
  server.on('error', (err) => log({ event: 'server_error', reason: err.message }));
  const gatePort = await listen(server, opts.port ?? 0, host);

  /** Destroys every socket of a connection; idempotent. */
  function teardown(conn: Conn): void {
    if (!conns.delete(conn)) return;
    conn.closed = true;
    clearTimeout(conn.timer);
    for (const s of [conn.client, conn.raw, conn.upstream]) s?.destroy();
  }

  /** While relaying, let the upstream finish what the client sent (e.g. Terminate); otherwise just drop. */
  function clientClosed(conn: Conn): void {
    if (conn.relaying && conn.upstream) finish(conn, conn.upstream);
    else teardown(conn);
  }

  /** Ends `sock` after its pending writes are flushed, then tears the connection down. */
  function finish(conn: Conn, sock: net.Socket): void {
    if (sock.writableFinished || sock.destroyed) return teardown(conn);
    sock.once('finish', () => teardown(conn));
    sock.end();
    setTimeout(() => teardown(conn), 2000).unref();
  }

  /** Sends a final message (a FATAL ErrorResponse), then closes once it is flushed or after a grace period. */
  function closeWith(conn: Conn, finalMessage: Buffer): void {
    const sock = conn.client;
    if (conn.closed || !sock.writable) return teardown(conn);
    sock.end(finalMessage);
    sock.resume(); // drain whatever the client still sends so its FIN is seen and no RST eats the message
    conn.upstream?.destroy();
    setTimeout(() => teardown(conn), 1000).unref();
  }

  async function handshake(conn: Conn): Promise<void> {
    const remoteAddress = remoteIp(conn.raw);
    let reader = new PacketReader(conn.client);
    let encrypted = false;
    let gssRefused = false;
    let body: Buffer;
    for (;;) {
      body = await reader.readStartup();
      const code = body.readInt32BE(0);
      if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
        if (body.length !== 4 || encrypted || (code === GSSENC_REQUEST_CODE && gssRefused)) {
          throw new WireError('unexpected encryption negotiation request', '08P01');
        }
        // Bytes pipelined after the request would be unencrypted data smuggled into the TLS session (CVE-2021-23214).
        if (reader.buffered > 0) throw new WireError('received unencrypted data after SSL request', '08P01');
        if (code === GSSENC_REQUEST_CODE) {
          gssRefused = true;
          conn.client.write('N');
          continue;
        }
        reader.detach();
        conn.client = await upgradeToTls(conn);
        reader = new PacketReader(conn.client);
        encrypted = true;
        continue;
      }
      if (code === CANCEL_REQUEST_CODE) {
        if (body.length !== 12) throw new WireError('invalid length of cancel request', '08P01');
        forwardCancel(body, remoteAddress);
        return teardown(conn);
      }
      break;
    }

    const major = body.readUInt16BE(0);
    const minor = body.readUInt16BE(2);
    if (major !== 3) throw new WireError(`unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`, '0A000');
    const params = parseStartupParams(body.subarray(4));
    // Protocol extensions (_pq_.*) and minor versions above 0 are declined, as a 3.0 server does.
    const extensions = Object.keys(params).filter((k) => k.startsWith('_pq_.'));
    for (const k of extensions) delete params[k];
    if (minor > 0 || extensions.length > 0) conn.client.write(negotiateProtocolVersion(extensions));
    const user = params.user;
    if (!user) throw new WireError('no PostgreSQL user name specified in startup packet', '28000');
    const database = params.database || user;
    params.database = database;
    if (!encrypted) {
      log({ event: 'rejected_no_encryption', user, remoteAddress });
      const text = `no pg_hba.conf entry for host "${remoteAddress}", user "${user}", database "${database}", no encryption`;
      return closeWith(conn, errorResponse('FATAL', '28000', text));
    }

    conn.client.write(authRequest(AUTH_CLEARTEXT));
    const msg = await reader.readMessage();
    if (msg.type === 0x58 /* X: Terminate */) return teardown(conn);
    if (msg.type !== 0x70 /* p */) throw new WireError(`expected password response, got message type ${msg.type}`, '08P01');
    if (msg.body.indexOf(0) !== msg.body.length - 1) throw new WireError('invalid password packet size', '08P01');
    const password = decodeUtf8(msg.body.subarray(0, -1));
    const result: GateAuthResult = password
      ? await verify({ user, database, password, gateHost: advertisedHost, gatePort, remoteAddress })
      : { ok: false, reason: password === undefined ? 'password is not valid UTF-8' : 'empty password' };
    if (conn.closed) return;
    if (!result.ok) {
      log({ event: 'auth_failed', user, reason: result.reason, remoteAddress });
      return closeWith(conn, errorResponse('FATAL', '28P01', `PAM authentication failed for user "${user}"`));
    }
    log({ event: 'authorized', user, remoteAddress });
    await openUpstream(conn, reader, params);
  }

  /** Runs the injected verifier; anything but an explicit { ok: true } is a refusal. */
  async function verify(req: GateAuthRequest): Promise<GateAuthResult> {
    try {
      const result = await opts.authenticate(req);
      return result?.ok === true ? result : { ok: false, reason: result?.reason ?? 'authenticate returned no result' };
    } catch (err) {
      return { ok: false, reason: `authenticate threw: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** Logs into the upstream as the user and, from its AuthenticationOk on, splices the two sockets. */
  async function openUpstream(conn: Conn, clientReader: PacketReader, params: Record<string, string>): Promise<void> {
    const user = params.user ?? '';
    const remoteAddress = remoteIp(conn.raw);
    const upstream = net.connect({ host: opts.upstream.host, port: opts.upstream.port });
    conn.upstream = upstream;
    upstream.setNoDelay(true);
    // Before the relay starts, the reader below turns errors into a FATAL for the client.
    upstream.on('error', (err) => {
      log({ event: 'upstream_error', user, reason: err.message, remoteAddress });
      if (conn.relaying) teardown(conn);
    });
    const reader = new PacketReader(upstream, MAX_UPSTREAM_MESSAGE * 2);
    upstream.write(startupMessage(params));
    const auth = new UpstreamAuth(user, () => {
      const pw = opts.upstreamPassword?.(user);
      if (pw === undefined) throw new WireError('upstream requested a password but none is configured', '28000');
      return pw;
    });
    for (;;) {
      const msg = await reader.readMessage(MAX_UPSTREAM_MESSAGE).catch(() => {
        throw new WireError('could not complete the upstream connection', '08006'); // details went to the log
      });
      if (conn.closed) return;
      if (msg.type === 0x45 /* E */) {
        log({ event: 'upstream_rejected', user, reason: errorMessageText(msg.body), remoteAddress });
        return closeWith(conn, msg.raw);
      }
      if (msg.type === 0x4e /* N: notice, allowed at any time */) {
        conn.client.write(msg.raw);
        continue;
      }
      if (msg.type !== 0x52 /* R */ || msg.body.length < 4) throw new WireError('unexpected message from upstream during authentication', '08P01');
      const code = msg.body.readInt32BE(0);
      if (code !== AUTH_OK) {
        const reply = await auth.reply(code, msg.body.subarray(4));
        if (reply && !conn.closed) upstream.write(reply);
        continue;
      }
      auth.checkComplete();
      clearTimeout(conn.timer);
      // Everything from AuthenticationOk on (ParameterStatus, BackendKeyData, ReadyForQuery...) is the client's.
      conn.client.write(Buffer.concat([msg.raw, reader.detach()]));
      const pending = clientReader.detach();
      if (pending.length > 0) upstream.write(pending);
      return relay(conn);
    }
  }

  /** Pipes both ways; when either side closes, the other is ended after flushing, then destroyed. */
  function relay(conn: Conn): void {
    const { client, upstream } = conn;
    if (!upstream || conn.closed) return teardown(conn);
    conn.relaying = true;
    upstream.on('close', () => finish(conn, client));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Answers the SSLRequest and runs the server side of the TLS handshake on the same socket. */
  async function upgradeToTls(conn: Conn): Promise<net.Socket> {
    // 'S' and the wrap happen in the same tick, so the ClientHello can only be read by the TLS layer.
    conn.raw.write('S');
    const secure = new tls.TLSSocket(conn.raw, { isServer: true, secureContext });
    conn.client = secure;
    secure.on('error', () => secure.destroy());
    secure.on('close', () => {
      conn.raw.destroy(); // the net.Server only counts the connection as gone once the raw socket is
      clientClosed(conn);
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('close', () => reject(new ConnectionClosed('connection closed during TLS handshake')));
    });
    return secure;
  }

  /** Cancel keys are upstream's own (relayed BackendKeyData), so the request is forwarded as is. */
  function forwardCancel(body: Buffer, remoteAddress: string): void {
    const sock = net.connect({ host: opts.upstream.host, port: opts.upstream.port }, () => sock.end(cancelRequest(body)));
    sock.on('error', (err) => log({ event: 'cancel_failed', reason: err.message, remoteAddress }));
    sock.setTimeout(5000, () => sock.destroy());
    log({ event: 'cancel_forwarded', remoteAddress });
  }

  return gateHandle(server, host, gatePort, creds.cert, conns, teardown);
}
