// Reads client commands (RESP multibulk or inline) the way a Redis / Valkey server does, with its
// limits and its protocol-error texts. Hand-written on purpose: the npm RESP parsers (redis-parser,
// @redis/client's Decoder) read *replies* — they accept server-only types (+ - : _ % > ...), reject
// inline commands, and have no size limits, while the gate must read *requests* and refuse a huge
// length before buffering it (an unauthenticated peer must not make it allocate).

/** Thrown for input a server would answer with "-ERR Protocol error: <message>" and then close. */
export class RespProtocolError extends Error {}

export interface RespCommand {
  /** The arguments, the command name first. */
  args: Buffer[];
  /** The exact bytes the command arrived as (relayed unchanged when the gate does not rewrite it). */
  raw: Buffer;
}

export interface CommandLimits {
  maxArgs: number;
  maxBulkBytes: number;
  /** Names the limit in the error text, as Redis does for a client that has not authenticated. */
  unauthenticated?: boolean;
}

// What Redis 7 allows a client that has not authenticated yet (networking.c), and the inline cap.
export const UNAUTHENTICATED_LIMITS: CommandLimits = { maxArgs: 10, maxBulkBytes: 16384, unauthenticated: true };
const INLINE_MAX_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');

type Parsed = { command: RespCommand | null; length: number } | { needBytes: number };

export class CommandReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The parse cannot finish before this many bytes are buffered (skips re-parsing a large bulk). */
  #needBytes = 1;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  get buffered(): number {
    return this.#buffered;
  }

  /** The next complete command, or undefined until more bytes arrive. Empty commands are skipped. */
  next(limits: CommandLimits): RespCommand | undefined {
    for (;;) {
      if (this.#buffered < this.#needBytes) return undefined;
      const buf = this.#flatten();
      const parsed = buf[0] === 0x2a /* * */ ? parseMultibulk(buf, limits) : parseInline(buf);
      if ('needBytes' in parsed) {
        this.#needBytes = parsed.needBytes;
        return undefined;
      }
      this.#chunks = parsed.length < buf.length ? [buf.subarray(parsed.length)] : [];
      this.#buffered = buf.length - parsed.length;
      this.#needBytes = 1;
      if (parsed.command) return parsed.command;
    }
  }

  #flatten(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }
}

/** `*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`. */
function parseMultibulk(buf: Buffer, limits: CommandLimits): Parsed {
  let pos = 0;
  const header = readLine(buf, 1, 'too big mbulk count string');
  if (!header) return { needBytes: buf.length + 1 };
  const count = parseLength(header.text);
  if (count === undefined || count > 1024 * 1024) throw new RespProtocolError('invalid multibulk length');
  if (count > limits.maxArgs) throw new RespProtocolError(limits.unauthenticated ? 'unauthenticated multibulk length' : 'invalid multibulk length');
  pos = header.next;
  if (count <= 0) return { command: null, length: pos };
  const args: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (pos >= buf.length) return { needBytes: buf.length + 1 };
    if (buf[pos] !== 0x24 /* $ */) throw new RespProtocolError(`expected '$', got '${String.fromCharCode(buf[pos] ?? 0)}'`);
    const line = readLine(buf, pos + 1, 'too big bulk count string');
    if (!line) return { needBytes: buf.length + 1 };
    const len = parseLength(line.text);
    if (len === undefined || len < 0 || len > 512 * 1024 * 1024) throw new RespProtocolError('invalid bulk length');
    if (len > limits.maxBulkBytes) throw new RespProtocolError(limits.unauthenticated ? 'unauthenticated bulk length' : 'invalid bulk length');
    const end = line.next + len + 2;
    if (buf.length < end) return { needBytes: end };
    // Redis skips the two bytes after a bulk without looking; a gate is stricter so framing cannot drift.
    if (buf[end - 2] !== 0x0d || buf[end - 1] !== 0x0a) throw new RespProtocolError('bulk not terminated by CRLF');
    args.push(buf.subarray(line.next, end - 2));
    pos = end;
  }
  return { command: { args, raw: Buffer.from(buf.subarray(0, pos)) }, length: pos };
}

/** A line of space-separated words, as typed into telnet / openssl s_client. */
function parseInline(buf: Buffer): Parsed {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) {
    if (buf.length > INLINE_MAX_BYTES) throw new RespProtocolError('too big inline request');
    return { needBytes: buf.length + 1 };
  }
  const text = buf.subarray(0, nl).toString('utf8').replace(/\r$/, '');
  if (/["']/.test(text)) throw new RespProtocolError('quoted inline arguments are not supported by this gate');
  const words = text.split(/[ \t]+/).filter(Boolean);
  if (words.length === 0) return { command: null, length: nl + 1 };
  return { command: { args: words.map((w) => Buffer.from(w)), raw: Buffer.from(buf.subarray(0, nl + 1)) }, length: nl + 1 };
}

function readLine(buf: Buffer, from: number, tooBig: string): { text: string; next: number } | undefined {
  const end = buf.indexOf(CRLF, from);
  if (end < 0) {
    if (buf.length - from > INLINE_MAX_BYTES) throw new RespProtocolError(tooBig);
    return undefined;
  }
  return { text: buf.toString('latin1', from, end), next: end + 2 };
}

/** A signed decimal as Redis's string2ll takes it: no sign-only, no leading zeros, no spaces. */
function parseLength(text: string): number | undefined {
  return /^(?:0|-?[1-9]\d{0,17})$/.test(text) ? Number(text) : undefined;
}

/** A command as RESP multibulk, the form every client sends. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** A RESP simple error line. */
export const errorReply = (text: string): Buffer => Buffer.from(`-${text.replace(/[\r\n]+/g, ' ')}\r\n`);
