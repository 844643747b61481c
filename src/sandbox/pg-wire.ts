// PostgreSQL frontend/backend protocol v3: the few messages the IAM gate has to
// speak itself (startup, authentication, errors), a bounded packet reader, and a
// SCRAM-SHA-256 client for upstream servers that are not on trust auth.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';

export const PROTOCOL_3_0 = 196608; // 3 << 16
export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
/** PostgreSQL's own MAX_STARTUP_PACKET_LENGTH; we apply it to every pre-auth message. */
export const MAX_PREAUTH_MESSAGE = 10_000;

export const AUTH_OK = 0;
export const AUTH_CLEARTEXT = 3;
export const AUTH_MD5 = 5;
export const AUTH_SASL = 10;
export const AUTH_SASL_CONTINUE = 11;
export const AUTH_SASL_FINAL = 12;

/** A protocol-level failure. `sqlState` set means "tell the client with a FATAL ErrorResponse". */
export class WireError extends Error {
  constructor(message: string, readonly sqlState?: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** The peer went away; nothing can be sent back. */
export class ConnectionClosed extends WireError {
  constructor(message = 'connection closed') {
    super(message);
    this.name = 'ConnectionClosed';
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8, returning undefined for invalid byte sequences instead of substituting U+FFFD. */
export function decodeUtf8(buf: Buffer): string | undefined {
  try {
    return utf8Strict.decode(buf);
  } catch {
    return undefined;
  }
}

const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** A typed message: 1 type byte, int32 length (self-inclusive), body. */
export function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body]);
}

export function errorResponse(severity: 'FATAL' | 'ERROR', sqlState: string, text: string): Buffer {
  // S is localised in real servers; V (9.6+) is the non-localised copy clients key on.
  const fields = [['S', severity], ['V', severity], ['C', sqlState], ['M', text]] as const;
  return message('E', ...fields.map(([k, v]) => Buffer.concat([Buffer.from(k, 'latin1'), cstr(v)])), Buffer.alloc(1));
}

export const authRequest = (code: number, extra: Buffer = Buffer.alloc(0)): Buffer => message('R', int32(code), extra);

/** NegotiateProtocolVersion: tell a 3.x client we only speak 3.0 and which _pq_ options we ignored. */
export function negotiateProtocolVersion(unrecognized: string[]): Buffer {
  return message('v', int32(0), int32(unrecognized.length), ...unrecognized.map(cstr));
}

export function startupMessage(params: Record<string, string>): Buffer {
  const pairs = Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]);
  const body = Buffer.concat([int32(PROTOCOL_3_0), ...pairs, Buffer.alloc(1)]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export const passwordMessage = (password: string): Buffer => message('p', cstr(password));

/** Re-frames a CancelRequest body (code, pid, key) as the 16-byte packet. */
export const cancelRequest = (body: Buffer): Buffer => Buffer.concat([int32(16), body.subarray(0, 12)]);

/** Parses the key/value section of a StartupMessage (body after the protocol code). */
export function parseStartupParams(buf: Buffer): Record<string, string> {
  if (buf.length === 0 || buf[buf.length - 1] !== 0) {
    throw new WireError('invalid startup packet layout: expected terminator as last byte', '08P01');
  }
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  let pos = 0;
  const next = (): string => {
    const end = buf.indexOf(0, pos);
    if (end < 0) throw new WireError('invalid startup packet layout: expected terminator as last byte', '08P01');
    const s = decodeUtf8(buf.subarray(pos, end));
    if (s === undefined) throw new WireError('invalid byte sequence in startup packet', '08P01');
    pos = end + 1;
    return s;
  };
  while (pos < buf.length - 1) {
    const key = next();
    if (key === '' || pos >= buf.length) throw new WireError('invalid startup packet layout: expected terminator as last byte', '08P01');
    params[key] = next();
  }
  return params;
}

/** Pulls the M (message) field out of an ErrorResponse/NoticeResponse body, for logging. */
export function errorMessageText(body: Buffer): string {
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const end = body.indexOf(0, pos + 1);
    if (end < 0) break;
    if (body[pos] === 0x4d /* M */) return body.toString('utf8', pos + 1, end);
    pos = end + 1;
  }
  return 'unknown error';
}

export interface WireMessage { type: number; body: Buffer; raw: Buffer }

/**
 * Accumulates bytes from a stream and hands out whole packets. Length checks happen
 * before waiting for the body, so a hostile length can never make us buffer much.
 */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    if (this.failure) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > this.maxBuffered) this.fail(new WireError('too much data before authentication completed', '08P01'));
    this.notify();
  };
  private readonly onEnd = (err?: unknown): void => this.fail(new ConnectionClosed(err instanceof Error ? err.message : undefined));

  constructor(private readonly stream: Duplex, private readonly maxBuffered = 64 * 1024) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** Stops consuming the stream (leaving it paused) and returns any unread bytes. */
  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    this.stream.pause();
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  /** Untyped packet (StartupMessage, SSLRequest, ...): returns the body after the length word. */
  async readStartup(maxLen = MAX_PREAUTH_MESSAGE): Promise<Buffer> {
    await this.need(4);
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > maxLen) throw new WireError('invalid length of startup packet', '08P01');
    await this.need(len);
    return this.take(len).subarray(4);
  }

  async readMessage(maxLen = MAX_PREAUTH_MESSAGE): Promise<WireMessage> {
    await this.need(5);
    const len = this.buf.readInt32BE(1);
    if (len < 4 || len > maxLen) throw new WireError('invalid message length', '08P01');
    await this.need(len + 1);
    const raw = this.take(len + 1);
    return { type: raw[0] ?? 0, body: raw.subarray(5), raw };
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private fail(err: Error): void {
    this.failure ??= err; // later data is discarded (see onData), so a flood cannot grow memory
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** md5 auth: "md5" + md5(md5(password || user) || salt). */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner, 'latin1'), salt])).digest('hex');
}

/** Client side of SCRAM-SHA-256 (RFC 5802/7677) without channel binding, as libpq does over plain TCP. */
export class ScramClient {
  private readonly nonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare = `n=,r=${this.nonce}`;
  private serverSignature: Buffer | undefined;
  /** True once the server has proved it knows the password too. */
  verified = false;

  constructor(private readonly password: string) {}

  /** SASLInitialResponse message. */
  initialResponse(): Buffer {
    const data = Buffer.from('n,,' + this.clientFirstBare, 'utf8');
    return message('p', cstr('SCRAM-SHA-256'), int32(data.length), data);
  }

  /** Consumes server-first-message, returns the SASLResponse carrying client-final-message. */
  async respond(serverFirst: string): Promise<Buffer> {
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce === this.nonce || salt.length === 0 || !Number.isSafeInteger(iterations) || iterations < 1) {
      throw new WireError('invalid SCRAM server-first-message from upstream', '08P01');
    }
    // SASLprep is approximated by NFKC, its core normalisation step; ASCII passwords are unaffected.
    const salted = await new Promise<Buffer>((resolve, reject) =>
      pbkdf2(this.password.normalize('NFKC'), salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));
    const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text, 'utf8').digest();
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const finalWithoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = `${this.clientFirstBare},${serverFirst},${finalWithoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0)));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return message('p', Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`, 'utf8'));
  }

  /** Verifies server-final-message so a fake upstream cannot pretend to know the password. */
  verifyFinal(serverFinal: string): void {
    const v = serverFinal.startsWith('v=') ? Buffer.from(serverFinal.slice(2).split(',')[0] ?? '', 'base64') : undefined;
    if (!this.serverSignature || !v || v.length !== this.serverSignature.length || !timingSafeEqual(v, this.serverSignature)) {
      throw new WireError('upstream SCRAM server signature did not verify', '08P01');
    }
    this.verified = true;
  }
}

/** Answers an upstream server's authentication requests on the user's behalf. */
export class UpstreamAuth {
  private scram: ScramClient | undefined;

  constructor(private readonly user: string, private readonly secret: () => string) {}

  /** The reply to an AuthenticationRequest (code + data after it); undefined when none is due. */
  async reply(code: number, data: Buffer): Promise<Buffer | undefined> {
    if (code === AUTH_CLEARTEXT) return passwordMessage(this.secret());
    if (code === AUTH_MD5 && data.length === 4) return passwordMessage(md5Password(this.user, this.secret(), data));
    if (code === AUTH_SASL && data.includes('SCRAM-SHA-256\0')) {
      this.scram = new ScramClient(this.secret());
      return this.scram.initialResponse();
    }
    if (code === AUTH_SASL_CONTINUE && this.scram) return this.scram.respond(data.toString('utf8'));
    if (code === AUTH_SASL_FINAL && this.scram) return void this.scram.verifyFinal(data.toString('utf8'));
    throw new WireError(`unsupported upstream authentication request ${code}`, '08P01');
  }

  /** Called at AuthenticationOk: a SCRAM exchange must have ended with a verified server signature. */
  checkComplete(): void {
    if (this.scram && !this.scram.verified) throw new WireError('upstream skipped SCRAM server verification', '08P01');
  }
}
