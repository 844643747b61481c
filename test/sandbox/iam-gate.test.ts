// The IAM gate in front of real PostgreSQL servers: the shared one on 127.0.0.1:5432
// (trust auth) and a throwaway cluster whose pg_hba asks for passwords.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import t from 'tap';
import { startIamGate, type GateAuthRequest, type GateLogEvent, type IamGateOptions } from '../../src/sandbox/iam-gate.js';
import { message, startupMessage } from '../../src/sandbox/pg-wire.js';
import { startThrowawayPostgres } from '../../src/sandbox/throwaway-postgres.js';

const SHARED = { host: '127.0.0.1', port: 5432 };
const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
const USER = `dab_gate_${suffix}`;
const GHOST = `dab_gate_ghost_${suffix}`; // accepted by the gate, unknown upstream
const GOOD = 'good-token';

const admin = new pg.Client({ ...SHARED, user: 'postgres', database: 'postgres' });
await admin.connect();
await admin.query(`CREATE ROLE ${USER} LOGIN`);

const authRequests: GateAuthRequest[] = [];
const events: GateLogEvent[] = [];
const authenticate: IamGateOptions['authenticate'] = async (req) => {
  authRequests.push(req);
  return (req.user === USER || req.user === GHOST) && req.password === GOOD ? { ok: true } : { ok: false, reason: 'token rejected' };
};
const gate = await startIamGate({ upstream: SHARED, authenticate, advertisedHost: 'localhost', log: (e) => events.push(e) });

t.teardown(async () => {
  await gate.close();
  await admin.query(`DROP ROLE IF EXISTS ${USER}`);
  await admin.end();
});

const logged = (event: string): GateLogEvent[] => events.filter((e) => e.event === event);
function client(over: pg.ClientConfig = {}, port = gate.port): pg.Client {
  const c = new pg.Client({ host: '127.0.0.1', port, user: USER, password: GOOD, database: 'postgres', ssl: { rejectUnauthorized: false }, ...over });
  c.on('error', () => {}); // the gate closing a session must not crash the test process
  return c;
}
async function connectError(over: pg.ClientConfig, port = gate.port): Promise<string> {
  const c = client(over, port);
  const err = await c.connect().then(() => undefined, (e: Error) => e);
  await c.end().catch(() => {});
  return err?.message ?? 'connected unexpectedly';
}
/** Upstream backends of a role, polled briefly because backends exit asynchronously. */
async function backendsOf(user: string): Promise<number> {
  for (let i = 0; ; i++) {
    const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [user]);
    const n = rows[0]?.n ?? -1;
    if (n === 0 || i >= 40) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function currentUser(over: pg.ClientConfig = {}, port = gate.port): Promise<string> {
  const c = client(over, port);
  await c.connect();
  try {
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? '';
  } finally {
    await c.end();
  }
}

t.test('IAM-authenticated session through the gate', async (t) => {
  authRequests.length = 0;
  const c = client({ application_name: 'gate-test' });
  await c.connect();
  const { rows } = await c.query("SELECT current_user AS u, current_database() AS d, current_setting('application_name') AS app");
  await c.end();
  t.same(rows, [{ u: USER, d: 'postgres', app: 'gate-test' }], 'runs as the user, startup params forwarded');
  t.match(authRequests, [{ user: USER, database: 'postgres', password: GOOD, gateHost: 'localhost', gatePort: gate.port, remoteAddress: '127.0.0.1' }]);
  t.match(logged('authorized').at(-1), { user: USER, remoteAddress: '127.0.0.1' });
});

t.test('default certificate verifies for 127.0.0.1 and localhost', async (t) => {
  t.equal(await currentUser({ ssl: { ca: gate.certificatePem } }), USER, 'IP SAN');
  t.equal(await currentUser({ host: 'localhost', ssl: { ca: gate.certificatePem } }), USER, 'DNS SAN');
});

t.test('refusals', async (t) => {
  t.equal(await connectError({ password: 'wrong-token' }), `PAM authentication failed for user "${USER}"`);
  t.equal(await connectError({ user: 'someone_else', password: GOOD }), 'PAM authentication failed for user "someone_else"');
  t.equal(await connectError({ ssl: false }), `no pg_hba.conf entry for host "127.0.0.1", user "${USER}", database "postgres", no encryption`);
  t.equal(await connectError({ user: GHOST }), `role "${GHOST}" does not exist`, 'upstream error relayed');
  t.ok(logged('auth_failed').some((e) => e.user === USER && e.reason === 'token rejected' && e.remoteAddress === '127.0.0.1'), 'failure reason logged');
  t.notMatch(JSON.stringify(events), /good-token|wrong-token/, 'passwords never logged');
});

t.test('authenticate that throws is a refusal, not a crash', async (t) => {
  const g = await startIamGate({ upstream: SHARED, authenticate: () => Promise.reject(new Error('boom')), log: (e) => events.push(e) });
  t.teardown(() => g.close());
  t.equal(await connectError({}, g.port), `PAM authentication failed for user "${USER}"`);
  t.match(events.at(-1), { event: 'auth_failed', reason: 'authenticate threw: boom' });
});

t.test('unreachable upstream is a FATAL for the client, details only in the log', async (t) => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const deadPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const log: GateLogEvent[] = [];
  const g = await startIamGate({ upstream: { host: '127.0.0.1', port: deadPort }, authenticate, log: (e) => log.push(e) });
  t.teardown(() => g.close());
  t.equal(await connectError({}, g.port), 'could not complete the upstream connection');
  t.match(log.find((e) => e.event === 'upstream_error'), { user: USER, reason: /ECONNREFUSED/ });
});

t.test('50 concurrent clients', async (t) => {
  const users = await Promise.all(Array.from({ length: 50 }, () => currentUser()));
  t.equal(users.filter((u) => u === USER).length, 50);
});

t.test('cancel requests reach the upstream backend', async (t) => {
  const c = client();
  await c.connect();
  const keys = c as unknown as { processID: number; secretKey: number };
  const sleeping = c.query('SELECT pg_sleep(30)');
  await new Promise((r) => setTimeout(r, 200));
  const cancel = Buffer.alloc(16);
  cancel.writeInt32BE(16, 0);
  cancel.writeInt32BE(80877102, 4);
  cancel.writeInt32BE(keys.processID, 8);
  cancel.writeInt32BE(keys.secretKey, 12);
  net.connect(gate.port, '127.0.0.1').end(cancel).on('error', () => {});
  await t.rejects(sleeping, /canceling statement due to user request/);
  await c.end();
});

t.test('close() ends live sessions and the handshake timeout drops stalled clients', async (t) => {
  const g = await startIamGate({ upstream: SHARED, authenticate, handshakeTimeoutMs: 300 });
  const live = client({}, g.port);
  await live.connect();
  const stalled = net.connect(g.port, '127.0.0.1').on('error', () => {});
  await once(stalled, 'connect');
  t.equal(g.activeConnections, 2);
  const stalledClosed = once(stalled, 'close');
  await stalledClosed;
  t.equal(g.activeConnections, 1, 'stalled client dropped');
  const ended = new Promise((resolve) => live.once('end', resolve)); // events.once would reject on pg's 'error'
  const started = Date.now();
  await g.close();
  await ended;
  t.ok(Date.now() - started < 1000, 'close is prompt');
  t.equal(g.activeConnections, 0);
  await t.rejects(live.query('SELECT 1'));
  t.equal(await backendsOf(USER), 0, 'upstream sessions closed too');
});

// ---- raw wire-protocol abuse ----

interface Reply { messages: { type: string; fields: Record<string, string> }[]; closed: boolean }

/** Sends packets (optionally after TLS negotiation) and collects replies until close or a quiet period. */
async function raw(steps: { tls?: boolean; send: Buffer[]; end?: boolean; quietMs?: number }): Promise<Reply> {
  const tcp = net.connect(gate.port, '127.0.0.1');
  tcp.on('error', () => {});
  await once(tcp, 'connect');
  let sock: net.Socket = tcp;
  if (steps.tls) {
    tcp.write(sslRequest());
    const [answer] = (await once(tcp, 'data')) as [Buffer];
    if (answer.toString() !== 'S') throw new Error('gate refused SSL');
    sock = tls.connect({ socket: tcp, rejectUnauthorized: false });
    sock.on('error', () => {});
    await once(sock, 'secureConnect');
  }
  let buf = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
  const done = new Promise<void>((resolve) => {
    sock.on('close', () => resolve(void (closed = true)));
    setTimeout(resolve, steps.quietMs ?? 1500);
  });
  for (const b of steps.send) sock.write(b);
  if (steps.end) sock.destroy();
  await done;
  sock.destroy();
  return { messages: parseMessages(buf), closed };
}

function parseMessages(buf: Buffer): Reply['messages'] {
  const out: Reply['messages'] = [];
  for (let pos = 0; pos + 5 <= buf.length; ) {
    const type = String.fromCharCode(buf[pos] ?? 0);
    const end = pos + 1 + buf.readInt32BE(pos + 1);
    const fields: Record<string, string> = {};
    if (type === 'E') {
      for (const f of buf.subarray(pos + 5, end - 1).toString().split('\0').filter(Boolean)) fields[f[0] ?? ''] = f.slice(1);
    } else if (type === 'R') fields.code = String(buf.readInt32BE(pos + 5));
    out.push({ type, fields });
    pos = end;
  }
  return out;
}

const int32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const sslRequest = (): Buffer => Buffer.concat([int32(8), int32(80877103)]);
const startup = (user = USER): Buffer => startupMessage({ user, database: 'postgres' });
const fatal = (code: string) => ({ messages: [{ type: 'E', fields: { S: 'FATAL', C: code } }], closed: true });
const afterAuthRequest = (code: string) => ({ messages: [{ type: 'R', fields: { code: '3' } }, { type: 'E', fields: { S: 'FATAL', C: code } }], closed: true });

t.test('malformed and hostile input', async (t) => {
  const cases: [string, Parameters<typeof raw>[0], object][] = [
    ['length below minimum', { send: [int32(3)] }, fatal('08P01')],
    ['absurd length', { send: [Buffer.concat([int32(50_000_000), int32(196608)])] }, fatal('08P01')],
    ['TLS ClientHello without SSLRequest', { send: [Buffer.from('160301020001', 'hex'), randomBytes(64)] }, fatal('08P01')],
    ['bytes pipelined after SSLRequest', { send: [Buffer.concat([sslRequest(), startup()])] }, fatal('08P01')],
    ['garbage instead of a TLS handshake', { send: [sslRequest(), Buffer.alloc(200, 'x')] }, { closed: true }],
    ['protocol 2.0', { send: [Buffer.concat([int32(8), int32(2 << 16)])] }, fatal('0A000')],
    ['startup without terminator', { tls: true, send: [Buffer.concat([int32(12), int32(196608), Buffer.from('user')])] }, fatal('08P01')],
    ['startup without user', { tls: true, send: [startupMessage({ database: 'postgres' })] }, fatal('28000')],
    ['wrong message type for password', { tls: true, send: [startup(), message('Q', Buffer.from('SELECT 1\0'))] }, afterAuthRequest('08P01')],
    ['password without NUL', { tls: true, send: [startup(), message('p', Buffer.from(GOOD))] }, afterAuthRequest('08P01')],
    ['password with embedded NUL', { tls: true, send: [startup(), message('p', Buffer.from(`${GOOD}\0x\0`))] }, afterAuthRequest('08P01')],
    ['empty password', { tls: true, send: [startup(), message('p', Buffer.from('\0'))] }, afterAuthRequest('28P01')],
    ['non-UTF-8 password', { tls: true, send: [startup(), message('p', Buffer.from([0xc3, 0x28, 0xff, 0]))] }, afterAuthRequest('28P01')],
    ['truncated password message', { tls: true, send: [startup(), message('p', Buffer.from(`${GOOD}\0`)).subarray(0, 7)], quietMs: 300 }, { closed: false }],
    ['huge password message', { tls: true, send: [startup(), Buffer.concat([Buffer.from('p'), int32(1 << 30)])] }, afterAuthRequest('08P01')],
    ['Terminate instead of password', { tls: true, send: [startup(), message('X')] }, { messages: [{ type: 'R' }], closed: true }],
    ['disconnect mid-handshake', { tls: true, send: [startup()], end: true }, { closed: true }],
    ['an HTTP request', { send: [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')] }, fatal('08P01')],
  ];
  for (const [name, steps, expected] of cases) t.match(await raw(steps), expected, name);
  t.ok(logged('protocol_error').length >= 10, 'protocol errors logged');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(gate.activeConnections, 0, 'no leaked connections (the truncated one was closed by us)');
  t.equal(await currentUser(), USER, 'gate still serves good clients');
});

t.test('mutated handshakes never hurt the gate', async (t) => {
  let seed = 42; // deterministic xorshift, so a failure is reproducible
  const rand = (n: number): number => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), (seed >>> 0) % n);
  const valid = Buffer.concat([startupMessage({ user: USER, database: 'postgres', application_name: 'fuzz' }), message('p', Buffer.from(`${GOOD}\0`))]);
  const inputs = Array.from({ length: 60 }, () => {
    const b = Buffer.from(valid);
    for (let i = 0, n = 1 + rand(4); i < n; i++) b[rand(b.length)] = rand(256);
    return rand(5) === 0 ? b.subarray(0, rand(b.length)) : b;
  });
  const replies = await Promise.all(inputs.map((b) => raw({ tls: true, send: [b], quietMs: 300 })));
  t.ok(replies.every((r) => r.messages.every((m) => 'RESKZv'.includes(m.type))), 'only well-formed replies');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(gate.activeConnections, 0, 'every connection cleaned up');
  t.equal(await currentUser(), USER, 'gate still serves good clients');
});

t.test('GSSENCRequest is declined, protocol 3.2 and _pq_ options are negotiated down', async (t) => {
  const gss = Buffer.concat([int32(8), int32(80877104)]);
  const tcp = net.connect(gate.port, '127.0.0.1');
  await once(tcp, 'connect');
  tcp.write(gss);
  t.equal(((await once(tcp, 'data')) as [Buffer])[0].toString(), 'N');
  tcp.destroy();

  const v32 = startupMessage({ user: USER, database: 'postgres', '_pq_.test_option': 'x' });
  v32.writeUInt16BE(2, 6); // minor version 2
  const reply = await raw({ tls: true, send: [v32], quietMs: 300 });
  t.match(reply.messages, [{ type: 'v' }, { type: 'R', fields: { code: '3' } }]);
});

t.test('upstream that requires passwords (cleartext, md5, SCRAM)', async (t) => {
  const db = await startThrowawayPostgres();
  t.teardown(() => db.stop());
  const setup = new pg.Client({ connectionString: db.url() });
  await setup.connect();
  await setup.query("CREATE ROLE scram_user LOGIN PASSWORD 'pw-scram'; CREATE ROLE clear_user LOGIN PASSWORD 'pw-clear'");
  await setup.query("CREATE ROLE wrong_user LOGIN PASSWORD 'right'");
  await setup.query("SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'pw-md5'");
  const hba = ['scram_user scram-sha-256', 'wrong_user scram-sha-256', 'md5_user md5', 'clear_user password', 'nopw_user scram-sha-256', 'all trust'];
  const lines = hba.map((l) => `host all ${l.replace(' ', ' 127.0.0.1/32 ')}\n`);
  await writeFile(path.join(db.dataDir, 'pg_hba.conf'), ['local all all trust\n', ...lines].join(''));
  await setup.query('SELECT pg_reload_conf()');
  await setup.end();

  const secrets: Record<string, string> = { scram_user: 'pw-scram', md5_user: 'pw-md5', clear_user: 'pw-clear', wrong_user: 'wrong' };
  const g = await startIamGate({ upstream: { host: db.host, port: db.port }, upstreamPassword: (u) => secrets[u], authenticate: async () => ({ ok: true }) });
  t.teardown(() => g.close());
  for (const user of ['scram_user', 'md5_user', 'clear_user']) t.equal(await currentUser({ user }, g.port), user, user);
  t.equal(await connectError({ user: 'wrong_user' }, g.port), 'password authentication failed for user "wrong_user"', 'upstream refusal relayed');
  t.equal(await connectError({ user: 'nopw_user' }, g.port), 'upstream requested a password but none is configured');
});
