import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The little of `fetch` the CLI's JSON calls use (method, headers, a string body, a signal; status,
 * headers.get, text), over node:http. Node's fetch loads undici on first use, which costs a
 * short-lived `dab creds` more CPU than everything else it does; node:http is already in memory.
 * Failures look like fetch's (a TypeError with the socket error as `cause`), so callers map them alike.
 */
export const lightFetch = ((input: URL | string, init: RequestInit = {}): Promise<Response> => {
  const url = new URL(String(input));
  const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (!request) return Promise.reject(new TypeError(`unsupported protocol ${url.protocol}`, { cause: { code: 'ERR_UNSUPPORTED_PROTOCOL' } }));
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    const fail = (err: unknown) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
    if (signal?.aborted) return fail(signal.reason);
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string> }, (res) => {
      readBody(res).then((text) => resolve(answer(res, text)), fail);
    });
    const onAbort = () => req.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    req.once('error', fail);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}) as typeof fetch;

async function readBody(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

function answer(res: IncomingMessage, text: string): Response {
  const status = res.statusCode ?? 0;
  const headers = { get: (name: string) => { const v = res.headers[name.toLowerCase()]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; } };
  return { ok: status >= 200 && status < 300, status, headers, text: async () => text } as unknown as Response;
}
