// The few pieces of the MySQL client/server protocol the sandbox's MySQL gate speaks: packet
// framing, the server greeting, the client's handshake response, auth switch, OK and ERR. mysql2's
// server side has no TLS and no auth switch (both are what an RDS IAM login is about), so these
// are written here, bounded and defensive: anything malformed is a WireError, never a crash.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';

export const CLIENT = {
  LONG_PASSWORD: 0x1,
  CONNECT_WITH_DB: 0x8,
  COMPRESS: 0x20,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  SECURE_CONNECTION: 0x8000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_DATA: 0x200000,
  ZSTD: 0x4000000,
} as const;

export class WireError extends Error {
  override name = 'WireError';
}
export class ConnectionClosed extends Error {
  override name = 'ConnectionClosed';
}

export interface Packet {
  seq: number;
  payload: Buffer;
}

/** Reads whole packets off a socket's 'data' events; at most maxPayload bytes each. */
export class PacketReader {
  private buffer = Buffer.alloc(0);
  private waiting?: { resolve: () => void; reject: (e: Error) => void };
  private ended = false;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly socket: Socket, private readonly maxPayload = 64 * 1024) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }

  async read(): Promise<Packet> {
    for (;;) {
      if (this.buffer.length >= 4) {
        const length = this.buffer.readUIntLE(0, 3);
        if (length > this.maxPayload) throw new WireError(`packet of ${length} bytes is larger than allowed here`);
        if (this.buffer.length >= 4 + length) {
          const packet = { seq: this.buffer[3] as number, payload: Buffer.from(this.buffer.subarray(4, 4 + length)) };
          this.buffer = this.buffer.subarray(4 + length);
          return packet;
        }
      }
      if (this.ended) throw new ConnectionClosed('connection closed');
      await new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject }));
    }
  }

  /** Stops reading; returns the bytes received but not yet read as packets. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }
}

/** One packet on the wire: 3-byte length, sequence id, payload. */
export function packet(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = seq & 0xff;
  return Buffer.concat([header, payload]);
}

/** Reads fields off a payload; running past its end is a WireError. */
export class Cursor {
  constructor(private readonly b: Buffer, public pos = 0) {}
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new WireError('packet ends early');
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** A NUL-terminated string (the NUL is consumed); at the end of the packet, the rest. */
  nulString(): Buffer {
    const end = this.b.indexOf(0, this.pos);
    const v = this.b.subarray(this.pos, end < 0 ? this.b.length : end);
    this.pos = end < 0 ? this.b.length : end + 1;
    return v;
  }
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) {
      this.need(3);
      const v = this.b.readUIntLE(this.pos, 3);
      this.pos += 3;
      return v;
    }
    throw new WireError('unsupported length-encoded integer');
  }
  get remaining(): number {
    return this.b.length - this.pos;
  }
}

const lenencBytes = (n: number): Buffer => {
  if (n < 0xfb) return Buffer.from([n]);
  const b = Buffer.alloc(3);
  b[0] = 0xfc;
  b.writeUInt16LE(n, 1);
  return b;
};

export interface Greeting {
  serverVersion: string;
  connectionId: number;
  nonce: Buffer;
  capabilities: number;
  charset: number;
  status: number;
  /** The 10 reserved bytes (MariaDB keeps its extended capabilities there). */
  reserved: Buffer;
  plugin: string;
}

export function parseGreeting(payload: Buffer): Greeting {
  const c = new Cursor(payload);
  if (c.u8() !== 10) throw new WireError('not a protocol 10 greeting');
  const serverVersion = c.nulString().toString('latin1');
  const connectionId = c.u32();
  const part1 = c.bytes(8);
  c.u8();
  let capabilities = c.u16();
  const charset = c.u8();
  const status = c.u16();
  capabilities = (capabilities | (c.u16() << 16)) >>> 0;
  const authLength = c.u8();
  const reserved = Buffer.from(c.bytes(10));
  const part2 = c.bytes(Math.max(13, authLength - 8));
  const plugin = capabilities & CLIENT.PLUGIN_AUTH ? c.nulString().toString('latin1') : 'mysql_native_password';
  return { serverVersion, connectionId, nonce: Buffer.concat([part1, part2.subarray(0, 12)]), capabilities, charset, status, reserved, plugin };
}

export function greeting(g: Greeting): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(g.connectionId);
  const caps = Buffer.alloc(2);
  caps.writeUInt16LE(g.capabilities & 0xffff);
  const capsHigh = Buffer.alloc(2);
  capsHigh.writeUInt16LE(g.capabilities >>> 16);
  const status = Buffer.alloc(2);
  status.writeUInt16LE(g.status);
  return Buffer.concat([
    Buffer.from([10]), Buffer.from(`${g.serverVersion}\0`, 'latin1'), head, g.nonce.subarray(0, 8), Buffer.from([0]), caps, Buffer.from([g.charset]),
    status, capsHigh, Buffer.from([21]), g.reserved, g.nonce.subarray(8, 20), Buffer.from([0]), Buffer.from(`${g.plugin}\0`, 'latin1'),
  ]);
}

export interface HandshakeResponse {
  capabilities: number;
  maxPacket: number;
  charset: number;
  /** The 23 filler bytes (MariaDB clients put extended capabilities there). */
  filler: Buffer;
  user: string;
  authData: Buffer;
  database?: string;
  plugin?: string;
}

/** An SSLRequest is the first 32 bytes of a handshake response, with CLIENT_SSL set. */
export const isSslRequest = (payload: Buffer): boolean => payload.length === 32 && (payload.readUInt32LE(0) & CLIENT.SSL) !== 0;

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const c = new Cursor(payload);
  const capabilities = c.u32();
  if (!(capabilities & CLIENT.PROTOCOL_41)) throw new WireError('only protocol 4.1 clients are supported');
  const maxPacket = c.u32();
  const charset = c.u8();
  const filler = Buffer.from(c.bytes(23));
  const user = c.nulString().toString('utf8');
  const authData = Buffer.from(
    capabilities & CLIENT.PLUGIN_AUTH_LENENC_DATA ? c.bytes(c.lenenc()) : capabilities & CLIENT.SECURE_CONNECTION ? c.bytes(c.u8()) : c.nulString(),
  );
  const database = capabilities & CLIENT.CONNECT_WITH_DB && c.remaining > 0 ? c.nulString().toString('utf8') : undefined;
  const plugin = capabilities & CLIENT.PLUGIN_AUTH && c.remaining > 0 ? c.nulString().toString('latin1') : undefined;
  return { capabilities, maxPacket, charset, filler, user, authData, ...(database !== undefined ? { database } : {}), ...(plugin !== undefined ? { plugin } : {}) };
}

export function handshakeResponse(r: HandshakeResponse): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(r.capabilities >>> 0, 0);
  head.writeUInt32LE(r.maxPacket >>> 0, 4);
  head[8] = r.charset;
  const auth = r.capabilities & CLIENT.PLUGIN_AUTH_LENENC_DATA ? Buffer.concat([lenencBytes(r.authData.length), r.authData]) : Buffer.concat([Buffer.from([r.authData.length]), r.authData]);
  return Buffer.concat([
    head, r.filler, Buffer.from(`${r.user}\0`, 'utf8'), auth,
    ...(r.database !== undefined ? [Buffer.from(`${r.database}\0`, 'utf8')] : []),
    ...(r.plugin !== undefined ? [Buffer.from(`${r.plugin}\0`, 'latin1')] : []),
  ]);
}

/** AuthSwitchRequest: 0xFE, plugin name, plugin data. */
export const authSwitch = (plugin: string, data: Buffer): Buffer => Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`, 'latin1'), data]);

export function parseAuthSwitch(payload: Buffer): { plugin: string; data: Buffer } {
  const c = new Cursor(payload, 1);
  const plugin = c.nulString().toString('latin1');
  return { plugin, data: Buffer.from(c.bytes(c.remaining)) };
}

/** ERR packet (protocol 4.1): 0xFF, code, '#', SQLSTATE, message. */
export function errPacket(code: number, sqlState: string, message: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  return Buffer.concat([head, Buffer.from(`#${sqlState}${message}`, 'utf8')]);
}

export function errMessage(payload: Buffer): string {
  return payload.length > 9 ? payload.subarray(9).toString('utf8') : 'error';
}

/** mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))). */
export function nativePasswordScramble(password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest();
  const stage1 = sha1(password);
  const mix = sha1(Buffer.concat([nonce.subarray(0, 20), sha1(stage1)]));
  return Buffer.from(stage1.map((byte, i) => byte ^ (mix[i] as number)));
}
