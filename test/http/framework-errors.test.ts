import { connect } from 'node:net';
import t from 'tap';
import type { ProblemCode } from '../../src/http/problem.js';
import { startHarness } from '../support/harness.js';

// Answers Fastify and Node write themselves are problem+json too. These go over a real socket:
// inject() bypasses Node's HTTP parser, which is where most of them come from.

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes bytes to the server and reads until it closes the connection (every case asks it to). */
function exchange(port: number, chunks: Array<string | Buffer>, between?: () => Promise<void>): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(parseAll(Buffer.concat(received).toString('latin1'))));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    void (async () => {
      socket.write(chunks[0] as string | Buffer);
      if (between) await between();
      for (const c of chunks.slice(1)) socket.write(c);
    })();
  });
}

function parseAll(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine?.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

const close = 'Connection: close\r\n';

interface Case {
  name: string;
  request: string | Buffer;
  status: number;
  code: ProblemCode;
  allow?: string;
}

const cases: Case[] = [
  { name: 'headers over the size limit', request: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n${close}\r\n`, status: 431, code: 'headers_too_large' },
  { name: 'a URL longer than the header limit', request: `GET /v1/audit/events?subject=${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n${close}\r\n`, status: 431, code: 'headers_too_large' },
  { name: 'bad percent-encoding in the path', request: `GET /v1/databases/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${close}\r\n`, status: 400, code: 'invalid_request' },
  { name: 'a path parameter over its length limit', request: `GET /v1/databases/${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\n${close}\r\n`, status: 414, code: 'uri_too_long' },
  { name: 'a header name with a space', request: `GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n${close}\r\n`, status: 400, code: 'invalid_request' },
  { name: 'a NUL byte in a header value', request: Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a\u0000b\r\n${close}\r\n`, 'latin1'), status: 400, code: 'invalid_request' },
  { name: 'an invalid method token', request: `GE(T /healthz HTTP/1.1\r\nHost: x\r\n${close}\r\n`, status: 400, code: 'invalid_request' },
  { name: 'Content-Length and Transfer-Encoding together', request: `POST /v1/credentials HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n${close}\r\n0\r\n\r\n`, status: 400, code: 'invalid_request' },
  { name: 'not HTTP at all', request: 'hello there\r\n\r\n', status: 400, code: 'invalid_request' },
  { name: 'wrong method on a known path', request: `DELETE /v1/credentials HTTP/1.1\r\nHost: x\r\n${close}\r\n`, status: 405, code: 'method_not_allowed', allow: 'POST' },
  { name: 'wrong method on a parameterised path', request: `POST /v1/databases/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n${close}\r\n`, status: 405, code: 'method_not_allowed', allow: 'DELETE, GET, HEAD, PUT' },
  { name: 'an unknown path is still a 404', request: `GET /v1/nope HTTP/1.1\r\nHost: x\r\n${close}\r\n`, status: 404, code: 'not_found' },
];

t.test('framework and parser errors are problem+json over a real socket', async (t) => {
  const h = await startHarness(t);
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const [res, ...more] = await exchange(port, [c.request]);
      t.equal(more.length, 0, 'one answer');
      if (!res) return t.fail('no answer');
      t.equal(res.status, c.status, `status ${c.status}`, { body: res.body });
      t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json');
      const problem = JSON.parse(res.body);
      t.equal(problem.code, c.code);
      t.equal(problem.type, `urn:dab:problem:${c.code}`);
      t.equal(problem.status, c.status, 'body status matches');
      t.match(problem.requestId, /^[0-9a-f-]{36}$/, 'a request id');
      t.equal(res.headers['x-request-id'], problem.requestId, 'the same id in the header');
      if (c.allow) t.equal(res.headers.allow, c.allow, 'Allow lists the routed methods');
    });
  }

  await t.test('a request arriving while dab shuts down gets a problem+json 503', async (t) => {
    // The first request is in flight (its body not yet sent) when close() starts; the second,
    // pipelined behind it, arrives during shutdown.
    let closing: Promise<void> | undefined;
    const answers = await exchange(
      port,
      ['POST /v1/credentials HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n', `{}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`],
      async () => {
        await new Promise((r) => setTimeout(r, 200));
        closing = h.app.close();
        await new Promise((r) => setTimeout(r, 200));
      },
    );
    await closing;
    t.equal(answers.length, 2, 'both answered');
    t.equal(answers[0]?.status, 401, 'the request in flight completes');
    const last = answers[1];
    t.equal(last?.status, 503);
    t.match(last?.headers['content-type'], /^application\/problem\+json/);
    t.equal(JSON.parse(last?.body ?? '{}').code, 'not_ready');
    t.equal(last?.headers['retry-after'], '1');
  });
});
