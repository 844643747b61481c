import net from 'node:net';
import mysql from 'mysql2/promise';
import t from 'tap';
import type { GateLogEvent } from '../../src/sandbox/iam-gate.js';
import { startMysqlGate } from '../../src/sandbox/mysql/mysql-gate.js';
import { CLIENT, packet } from '../../src/sandbox/mysql/mysql-wire.js';

// The MySQL gate never crashes on what a client sends: each malformed handshake gets an error
// (or a closed connection), and the gate goes on serving. A well-formed login is checked last.

const events: GateLogEvent[] = [];
const gate = await startMysqlGate({
  upstream: { host: '127.0.0.1', port: 3306 },
  upstreamPassword: () => undefined,
  authenticate: async ({ password }) => (password === 'right' ? { ok: true } : { ok: false, reason: 'wrong_token' }),
  log: (e) => events.push(e),
  handshakeTimeoutMs: 3000,
});
t.teardown(() => gate.close());

/** Connects, waits for the greeting, sends `bytes`, and collects what comes back until the gate closes. */
function exchange(bytes: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(gate.port, gate.host);
    const got: Buffer[] = [];
    let greeted = false;
    sock.on('data', (d) => {
      got.push(d);
      if (!greeted) {
        greeted = true;
        for (const b of bytes) sock.write(b);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(Buffer.concat(got)));
    sock.setTimeout(8000, () => {
      sock.destroy();
      reject(new Error('the gate neither answered nor closed'));
    });
  });
}

const caps = (flags: number) => {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(flags >>> 0, 0);
  b.writeUInt32LE(16 * 1024 * 1024, 4);
  b[8] = 45;
  return b;
};
const PROTOCOL = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH;

const MALFORMED: Array<[string, Buffer[]]> = [
  ['random bytes', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]],
  ['a packet claiming 16 MB', [Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00])]],
  ['a handshake response cut short', [packet(1, caps(PROTOCOL).subarray(0, 20))]],
  ['no user terminator and no auth length', [packet(1, Buffer.concat([caps(PROTOCOL), Buffer.from('alice')]))]],
  ['an auth length past the end', [packet(1, Buffer.concat([caps(PROTOCOL), Buffer.from('alice\0'), Buffer.from([200, 1, 2])]))]],
  ['a pre-4.1 client', [packet(1, Buffer.concat([caps(CLIENT.LONG_PASSWORD), Buffer.from('alice\0\0')]))]],
  ['an SSL request followed by garbage instead of a ClientHello', [packet(1, caps(PROTOCOL | CLIENT.SSL)), Buffer.from('not tls at all, just text')]],
  ['a length-encoded auth length with an 8-byte form', [packet(1, Buffer.concat([caps(PROTOCOL | CLIENT.PLUGIN_AUTH_LENENC_DATA), Buffer.from('alice\0'), Buffer.from([0xfe, 1, 0, 0, 0, 0, 0, 0, 0])]))]],
];

for (const [what, bytes] of MALFORMED) {
  t.test(`${what}: answered or closed, never a crash`, async (t) => {
    const reply = await exchange(bytes);
    t.ok(reply.length > 0, 'the greeting came first');
    // The gate drops its side once it sees the close: wait for that state (no deadline asserted).
    while (gate.activeConnections > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    t.equal(gate.activeConnections, 0, 'the connection is gone');
  });
}

t.test('a plain-text login is refused as RDS refuses it (REQUIRE SSL), without asking for the token', async (t) => {
  const reply = await exchange([packet(1, Buffer.concat([caps(PROTOCOL), Buffer.from('alice\0'), Buffer.from([0])]))]);
  t.match(reply.toString('latin1'), /Access denied for user 'alice'/);
  t.ok(events.some((e) => e.event === 'authentication_failed' && e.reason === 'tls_required'));
});

t.test('after all that, the gate still answers a real client: a wrong token is denied, a right one reaches upstream', async (t) => {
  const options = { host: gate.host, port: gate.port, user: 'alice', ssl: { rejectUnauthorized: false }, enableCleartextPlugin: true };
  await t.rejects(mysql.createConnection({ ...options, password: 'wrong' }), /Access denied for user 'alice'/);
  t.ok(events.some((e) => e.event === 'authentication_failed' && e.reason === 'wrong_token'));
  // The right token: the gate holds no upstream password for alice, so it refuses to go on.
  await t.rejects(mysql.createConnection({ ...options, password: 'right' }), /Access denied/);
  t.ok(events.some((e) => e.event === 'authentication_failed' && e.reason === 'no_upstream_user'));
  t.ok(events.some((e) => e.event === 'protocol_error'), 'malformed handshakes were logged as protocol errors');
});
