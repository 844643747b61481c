// What a command means for logging in, as Redis 7 / Valkey read AUTH and HELLO, with their
// error texts for malformed forms. The gate decides what to do with it (resp-gate.ts).
import { encodeCommand, errorReply } from './resp-commands.js';

export type LoginIntent =
  /** AUTH <user> <token>, or AUTH <token> (which means the user "default"). */
  | { kind: 'auth'; user: string; token: string }
  /** HELLO [protover [AUTH user token] [SETNAME name]]; credentials only when AUTH was given. */
  | { kind: 'hello'; protover?: Buffer; credentials?: { user: string; token: string }; setname?: Buffer }
  | { kind: 'quit' }
  /** A malformed AUTH / HELLO: the server answers with this error and keeps the connection. */
  | { kind: 'error'; reply: Buffer }
  | { kind: 'other' };

export const WRONGPASS = errorReply('WRONGPASS invalid username-password pair or user is disabled.');
export const NOAUTH = errorReply('NOAUTH Authentication required.');
export const HELLO_NOAUTH = errorReply(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
);

export function loginIntent(args: Buffer[]): LoginIntent {
  const name = args[0]?.toString('latin1').toLowerCase();
  if (name === 'quit') return { kind: 'quit' };
  if (name === 'auth') {
    if (args.length === 2) return { kind: 'auth', user: 'default', token: text(args[1]) };
    if (args.length === 3) return { kind: 'auth', user: text(args[1]), token: text(args[2]) };
    return { kind: 'error', reply: errorReply("ERR wrong number of arguments for 'auth' command") };
  }
  if (name !== 'hello') return { kind: 'other' };
  const protover = args[1];
  if (protover !== undefined) {
    const text = protover.toString('latin1');
    if (!/^-?\d{1,18}$/.test(text)) return { kind: 'error', reply: errorReply('ERR Protocol version is not an integer or out of range') };
    if (text !== '2' && text !== '3') return { kind: 'error', reply: errorReply('NOPROTO unsupported protocol version') };
  }
  const intent: Extract<LoginIntent, { kind: 'hello' }> = { kind: 'hello', ...(protover ? { protover } : {}) };
  for (let i = 2; i < args.length; i++) {
    const opt = (args[i] as Buffer).toString('latin1');
    const more = args.length - i - 1;
    if (opt.toLowerCase() === 'auth' && more >= 2) {
      intent.credentials = { user: text(args[i + 1]), token: text(args[i + 2]) };
      i += 2;
    } else if (opt.toLowerCase() === 'setname' && more >= 1) {
      intent.setname = args[i + 1] as Buffer;
      i += 1;
    } else {
      return { kind: 'error', reply: errorReply(`ERR Syntax error in HELLO option '${opt}'`) };
    }
  }
  return intent;
}

/** HELLO as the upstream should see it: the same protocol and name, AUTH replaced (or left out). */
export function upstreamHello(intent: Extract<LoginIntent, { kind: 'hello' }>, auth?: { username: string; password: string }): Buffer {
  const args: Array<string | Buffer> = ['HELLO'];
  if (intent.protover) args.push(intent.protover);
  if (auth) args.push('AUTH', auth.username, auth.password);
  if (intent.setname) args.push('SETNAME', intent.setname);
  return encodeCommand(args);
}

const text = (b: Buffer | undefined): string => b?.toString('utf8') ?? '';
