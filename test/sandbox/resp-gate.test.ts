// The RESP gate in front of the shared Redis (127.0.0.1:6379), with ACL users made for this run
// and a stand-in verifier (the real ElastiCache token check has its own test).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { createClient } from 'redis';
import t from 'tap';
import { createAclUsers } from '../../src/sandbox/resp/acl-users.js';
import { startRespGate, type RespGate, type RespGateLogEvent, type RespGateOptions } from '../../src/sandbox/resp/resp-gate.js';
import { startThrowawayRedis } from '../../src/sandbox/resp/throwaway-redis.js';

const REDIS = { host: '127.0.0.1', port: 6379 };
const prefix = `dab_test_${process.pid}_${randomBytes(3).toString('hex')}_`;
const acl = await createAclUsers(REDIS, prefix, { app_ro: 'on ~* +@read +ping +client|getname', app_rw: 'on ~* +@read +@write' });
const TOKENS: Record<string, string> = { app_ro: 'ro-token', app_rw: 'rw-token', ghost: 'ghost-token' };
const KEY = `${prefix}key`;

const events: RespGateLogEvent[] = [];
const authenticate: RespGateOptions['authenticate'] = async ({ user, token }) => {
  if (TOKENS[user] !== token) return { ok: false, reason: 'token rejected' };
  // "ghost" passes the token check but has no ACL user upstream.
  return { ok: true, upstream: acl.lookup(user) ?? { username: `${prefix}ghost`, password: 'x' } };
};
const gate = await startRespGate({ upstream: REDIS, authenticate, log: (e) => events.push(e) });
const admin = createClient({ socket: REDIS });
await admin.connect();
await admin.set(KEY, 'hello');

t.teardown(async () => {
  await gate.close();
  await admin.del(KEY);
  admin.destroy();
  await acl.remove();
});

type Client = ReturnType<typeof createClient>;
async function login(user: string, token: string, RESP: 2 | 3 = 3, via: RespGate = gate): Promise<Client> {
  const c = createClient({ RESP, username: user, password: token, socket: { host: '127.0.0.1', port: via.port, tls: true, ca: via.certificatePem, reconnectStrategy: false } }) as Client;
  c.on('error', () => {});
  await c.connect();
  return c;
}
const errorOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'succeeded', (e: Error) => e.message);

/** A raw TLS conversation: send bytes, read what comes back until the gate closes or `until` matches. */
async function raw(bytes: string | Buffer, until?: RegExp, port = gate.port): Promise<{ text: string; closed: boolean }> {
  const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  sock.on('error', () => {});
  await once(sock, 'secureConnect');
  let text = '';
  let closed = false;
  const done = new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (until?.test(text)) resolve();
    });
    sock.on('close', () => {
      closed = true;
      resolve();
    });
  });
  sock.write(bytes);
  await done;
  sock.destroy();
  return { text, closed };
}
const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

t.test('ro reads and may not write; rw writes (RESP3, HELLO 3 AUTH)', async (t) => {
  const ro = await login('app_ro', TOKENS.app_ro!);
  t.equal(await ro.get(KEY), 'hello');
  t.equal(await ro.sendCommand(['ACL', 'WHOAMI']).catch((e: Error) => e.message), "NOPERM this user has no permissions to run the 'acl|whoami' command", 'not even ACL');
  t.match(await errorOf(ro.set(KEY, 'changed')), /^NOPERM .*'set' command/);
  ro.destroy();
  const rw = await login('app_rw', TOKENS.app_rw!);
  t.equal(await rw.set(KEY, 'by-rw'), 'OK');
  t.equal(await admin.get(KEY), 'by-rw', 'the write reached the real server');
  rw.destroy();
  t.match(events.filter((e) => e.event === 'authorized').map((e) => e.user), ['app_ro', 'app_rw']);
});

t.test('RESP2 clients log in with AUTH <user> <token>', async (t) => {
  const ro = await login('app_ro', TOKENS.app_ro!, 2);
  t.equal(await ro.get(KEY), await admin.get(KEY));
  ro.destroy();
});

t.test('refusals are the real service errors', async (t) => {
  t.equal(await errorOf(login('app_ro', 'wrong')), 'WRONGPASS invalid username-password pair or user is disabled.');
  t.equal(await errorOf(login('app_ro', TOKENS.app_rw!)), 'WRONGPASS invalid username-password pair or user is disabled.', "another user's token");
  t.equal(await errorOf(login('ghost', TOKENS.ghost!)), 'WRONGPASS invalid username-password pair or user is disabled.', 'no ACL user upstream');
  t.match(events.find((e) => e.event === 'upstream_rejected'), { user: 'ghost', reason: /^-WRONGPASS/ });
  t.match(events.find((e) => e.event === 'auth_failed'), { user: 'app_ro', reason: 'token rejected', remoteAddress: '127.0.0.1' });
  t.notMatch(JSON.stringify(events), /ro-token|rw-token|ghost-token/, 'tokens never logged');
});

t.test('before AUTH: NOAUTH, HELLO needs AUTH, syntax errors as Redis words them, QUIT', async (t) => {
  const r = await raw(
    'PING\r\n' + cmd('GET', 'k') + cmd('HELLO', '3') + cmd('HELLO', '4', 'AUTH', 'a', 'b') + cmd('HELLO', 'x') + cmd('HELLO', '3', 'AUTH', 'a') +
      cmd('AUTH') + cmd('AUTH', 'a', 'b', 'c') + cmd('AUTH', 'app_ro', '') + cmd('AUTH', TOKENS.app_ro!) + cmd('QUIT'),
  );
  t.same(r.text.split('\r\n').slice(0, -1), [
    '-NOAUTH Authentication required.',
    '-NOAUTH Authentication required.',
    '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    '-NOPROTO unsupported protocol version',
    '-ERR Protocol version is not an integer or out of range',
    "-ERR Syntax error in HELLO option 'AUTH'",
    "-ERR wrong number of arguments for 'auth' command",
    "-ERR wrong number of arguments for 'auth' command",
    '-WRONGPASS invalid username-password pair or user is disabled.',
    '-WRONGPASS invalid username-password pair or user is disabled.', // AUTH <token> is the user "default"
    '+OK',
  ]);
  t.ok(r.closed, 'QUIT closes');
});

t.test('pipelined login and commands come back in order', async (t) => {
  const r = await raw(cmd('AUTH', 'app_ro', TOKENS.app_ro!) + cmd('GET', KEY) + cmd('SET', KEY, 'x') + cmd('QUIT'));
  const value = (await admin.get(KEY)) ?? '';
  t.match(r.text, new RegExp(`^\\+OK\\r\\n\\$${value.length}\\r\\n${value}\\r\\n-NOPERM [^\\r]*'set' command\\r\\n\\+OK\\r\\n$`));
  t.equal(await raw('GET k\r\n', /\r\n/).then((x) => x.text), '-NOAUTH Authentication required.\r\n', 'inline commands are read too');
});

t.test('re-authenticating on an open connection is checked too', async (t) => {
  const c = await login('app_ro', TOKENS.app_ro!, 2);
  t.match(await errorOf(c.set(KEY, 'nope')), /^NOPERM/);
  t.equal(await errorOf(c.sendCommand(['AUTH', 'app_rw', 'forged'])), 'WRONGPASS invalid username-password pair or user is disabled.');
  t.equal(await errorOf(c.sendCommand(['AUTH', 'default', 'anything'])), 'WRONGPASS invalid username-password pair or user is disabled.', "never the upstream's default user");
  t.equal(await errorOf(c.sendCommand(['HELLO', '2', 'AUTH', 'default', 'x'])), 'WRONGPASS invalid username-password pair or user is disabled.');
  t.match(await errorOf(c.set(KEY, 'nope')), /^NOPERM/, 'still ro after refused re-logins');
  t.equal(await c.sendCommand(['AUTH', 'app_rw', TOKENS.app_rw!]), 'OK', 'a valid token for another level switches, as on ElastiCache');
  t.equal(await c.set(KEY, 'by-reauth'), 'OK');
  c.destroy();
  t.ok(events.some((e) => e.event === 'reauthorized' && e.user === 'app_rw'));
});

t.test('HELLO SETNAME is kept when AUTH is rewritten', async (t) => {
  const r = await raw(cmd('HELLO', '2', 'SETNAME', 'my-app', 'AUTH', 'app_ro', TOKENS.app_ro!) + cmd('CLIENT', 'GETNAME') + cmd('QUIT'), /\+OK\r\n$/);
  t.match(r.text, /^\*\d+\r\n/, 'the upstream HELLO reply (RESP2 array)');
  t.match(r.text, /\$6\r\nmy-app\r\n\+OK\r\n$/);
});

t.test('malformed input: a protocol error, then the connection closes; the gate keeps serving', async (t) => {
  const cases: [string, string | Buffer, string][] = [
    ['bad multibulk length', '*abc\r\n', 'invalid multibulk length'],
    ['too many arguments before AUTH', '*11\r\n', 'unauthenticated multibulk length'],
    ['huge bulk before AUTH', '*2\r\n$4\r\nAUTH\r\n$99999999\r\n', 'unauthenticated bulk length'],
    ['negative bulk', '*1\r\n$-5\r\n', 'invalid bulk length'],
    ['not a bulk', '*1\r\n:1\r\n', "expected '$', got ':'"],
    ['bulk not terminated', '*1\r\n$4\r\nPINGxx', 'bulk not terminated by CRLF'],
    ['endless count line', `*${'9'.repeat(70_000)}`, 'too big mbulk count string'],
    ['endless inline request', 'A'.repeat(70_000), 'too big inline request'],
    ['quoted inline', 'AUTH "a b" c\r\n', 'quoted inline arguments are not supported by this gate'],
  ];
  for (const [label, bytes, message] of cases) {
    const r = await raw(bytes);
    t.equal(r.text, `-ERR Protocol error: ${message}\r\n`, label);
    t.ok(r.closed, `${label}: closed`);
  }
  const junk = await raw(Buffer.concat([randomBytes(512), Buffer.from('\n')]), /\r\n/);
  t.match(junk.text, /^-(NOAUTH|ERR Protocol error)/, 'random bytes get an answer, not a crash');
  // A client that speaks plaintext to the TLS port.
  const plain = net.connect(gate.port, '127.0.0.1');
  plain.on('error', () => {});
  plain.write('PING\r\n');
  await once(plain, 'close');
  t.equal(await (await login('app_ro', TOKENS.app_ro!)).ping(), 'PONG', 'still serving');
});

t.test('authenticate that throws is a refusal', async (t) => {
  const log: RespGateLogEvent[] = [];
  const g = await startRespGate({ upstream: REDIS, authenticate: () => Promise.reject(new Error('boom')), log: (e) => log.push(e) });
  t.teardown(() => g.close());
  t.equal((await raw(cmd('AUTH', 'app_ro', 'x'), /\r\n/, g.port)).text, '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  t.match(log.find((e) => e.event === 'auth_failed'), { reason: 'authenticate threw: boom' });
});

t.test('a session ends when its maximum age passes without re-authentication', async (t) => {
  const log: RespGateLogEvent[] = [];
  const g = await startRespGate({ upstream: REDIS, authenticate, maxSessionMs: 300, log: (e) => log.push(e) });
  t.teardown(() => g.close());
  const r = await raw(cmd('AUTH', 'app_ro', TOKENS.app_ro!), undefined, g.port);
  t.equal(r.text, '+OK\r\n');
  t.ok(r.closed, 'closed by the gate');
  t.match(log.at(-1), { event: 'session_expired', user: 'app_ro' });
  t.equal(g.activeConnections, 0);
});

t.test('unauthenticated clients are dropped after the handshake timeout', async (t) => {
  const g = await startRespGate({ upstream: REDIS, authenticate, handshakeTimeoutMs: 200 });
  t.teardown(() => g.close());
  const r = await raw(cmd('PING'), undefined, g.port);
  t.equal(r.text, '-NOAUTH Authentication required.\r\n');
  t.ok(r.closed);
});

t.test('an upstream that goes away mid-session closes the client, and the gate stays up', async (t) => {
  const server = await startThrowawayRedis();
  t.teardown(() => server.stop());
  const users = await createAclUsers(server, prefix, { app_ro: 'on ~* +@read +ping' });
  const log: RespGateLogEvent[] = [];
  const g = await startRespGate({ upstream: server, authenticate: async ({ user, token }) => (TOKENS[user] === token ? { ok: true, upstream: users.lookup(user)! } : { ok: false, reason: 'no' }), log: (e) => log.push(e) });
  t.teardown(() => g.close());
  const c = await login('app_ro', TOKENS.app_ro!, 3, g);
  t.equal(await c.ping(), 'PONG');
  const closed = once(c, 'end').catch(() => undefined);
  await server.stop();
  await closed;
  t.equal(await errorOf(c.ping()), 'The client is closed', 'the client sees the connection end');
  t.equal(await errorOf(login('app_ro', TOKENS.app_ro!, 3, g)), 'Socket closed unexpectedly', 'a new login is closed: the upstream is gone');
  t.match(log.find((e) => e.event === 'upstream_error'), { reason: `connect ECONNREFUSED 127.0.0.1:${server.port}` }, 'the reason is in the log');
  t.equal(await (await login('app_ro', TOKENS.app_ro!)).ping(), 'PONG', 'other gates are unaffected');
});
