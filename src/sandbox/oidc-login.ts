import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';

/**
 * The sandbox issuer's sign-in side: an authorization endpoint with a login page listing its demo
 * principals, and a token endpoint for the authorization code flow with PKCE (RFC 7636, S256 only)
 * for public clients. Enough for dab's web console to sign in the way it would at a corporate IdP;
 * no passwords, because every principal here is a demo. Insecure by design: local only.
 */
export interface LoginClient {
  clientId: string;
  /** Exact redirect URIs (no prefix matching, as OAuth 2.1 requires). */
  redirectUris: string[];
}

export interface LoginPrincipal {
  subject: string;
  /** What the login page says about them, e.g. "DBA". */
  label: string;
  groups?: string[];
}

export interface LoginOptions {
  clients: LoginClient[];
  principals: LoginPrincipal[];
  /** Lifetime of the access and ID tokens the token endpoint mints (default 3600 s). */
  tokenTtlSeconds?: number;
}

type Sign = (claims: JWTPayload & { sub: string }, opts: { audience?: string; expiresIn: string }) => Promise<string>;

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  principal: LoginPrincipal;
  scope: string;
  expiresAt: number;
}

const CODE_TTL_MS = 60_000;
const MAX_BODY = 16 * 1024;

export interface OidcLogin {
  configure(opts: LoginOptions): void;
  /** Extra discovery fields once sign-in is configured. */
  discovery(base: string): Record<string, unknown>;
  /** Answers /authorize and /token (true), or leaves the request to the caller (false). */
  handle(req: IncomingMessage, res: ServerResponse, base: string): boolean;
}

export function createOidcLogin(sign: Sign): OidcLogin {
  let options: LoginOptions | undefined;
  const codes = new Map<string, PendingCode>();

  const clientFor = (params: URLSearchParams): { client: LoginClient; redirectUri: string } | string => {
    const client = options?.clients.find((c) => c.clientId === params.get('client_id'));
    if (!client) return 'unknown client_id';
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirectUri)) return 'redirect_uri is not registered for this client';
    return { client, redirectUri };
  };
  // CORS for the browser's token request: only the registered clients' origins.
  const allowOrigin = (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    const origins = new Set(options?.clients.flatMap((c) => c.redirectUris.map((u) => new URL(u).origin)) ?? []);
    if (origin && origins.has(origin)) res.setHeader('access-control-allow-origin', origin).setHeader('vary', 'origin');
  };

  async function authorizeGet(url: URL, res: ServerResponse): Promise<void> {
    const params = url.searchParams;
    const found = clientFor(params);
    // A bad client or redirect URI is never redirected to (RFC 6749 §4.1.2.1): it is shown here.
    if (typeof found === 'string') return page(res, 400, 'Sign-in refused', `<p>${escapeHtml(found)}</p>`);
    const problem = checkAuthorizeParams(params);
    if (problem) return redirectError(res, found.redirectUri, params.get('state'), 'invalid_request', problem);
    const hidden = AUTHORIZE_KEYS.map((k) => [k, params.get(k)] as const)
      .map(([k, v]) => (v === null ? '' : `<input type="hidden" name="${k}" value="${escapeHtml(v)}">`))
      .join('');
    const buttons = (options?.principals ?? [])
      .map((p) => `<li><button type="submit" name="subject" value="${escapeHtml(p.subject)}">Sign in as <b>${escapeHtml(p.subject)}</b></button> <span>${escapeHtml(p.label)}</span></li>`)
      .join('');
    const redirectOrigin = new URL(found.redirectUri).origin;
    page(res, 200, 'Sandbox issuer: sign in', `<p>A local demo identity provider. Choose who to be; there are no passwords.</p><form method="post" action="authorize">${hidden}<ul>${buttons}</ul></form>`, redirectOrigin);
  }

  async function authorizePost(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = new URLSearchParams(await readBody(req));
    const found = clientFor(params);
    if (typeof found === 'string') return page(res, 400, 'Sign-in refused', `<p>${escapeHtml(found)}</p>`);
    const problem = checkAuthorizeParams(params);
    if (problem) return redirectError(res, found.redirectUri, params.get('state'), 'invalid_request', problem);
    const principal = options?.principals.find((p) => p.subject === params.get('subject'));
    if (!principal) return redirectError(res, found.redirectUri, params.get('state'), 'access_denied', 'no such demo principal');
    sweep();
    const code = randomBytes(32).toString('base64url');
    codes.set(code, { clientId: found.client.clientId, redirectUri: found.redirectUri, challenge: params.get('code_challenge') as string, principal, scope: params.get('scope') ?? '', expiresAt: Date.now() + CODE_TTL_MS });
    const target = new URL(found.redirectUri);
    target.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) target.searchParams.set('state', state);
    res.writeHead(303, { location: target.href, 'cache-control': 'no-store' }).end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    allowOrigin(req, res);
    const fail = (status: number, error: string, description: string) =>
      void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error, error_description: description }));
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return fail(400, 'invalid_request', 'form body expected');
    const params = new URLSearchParams(await readBody(req));
    if (params.get('grant_type') !== 'authorization_code') return fail(400, 'unsupported_grant_type', 'only authorization_code');
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code); // single use, whatever happens next
    if (!pending || pending.expiresAt < Date.now()) return fail(400, 'invalid_grant', 'unknown, used or expired code');
    if (pending.clientId !== params.get('client_id') || pending.redirectUri !== params.get('redirect_uri')) return fail(400, 'invalid_grant', 'code was issued to another client or redirect_uri');
    const verifier = params.get('code_verifier') ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || !safeEqual(createHash('sha256').update(verifier).digest('base64url'), pending.challenge)) {
      return fail(400, 'invalid_grant', 'code_verifier does not match code_challenge');
    }
    const ttl = options?.tokenTtlSeconds ?? 3600;
    // The access token is exactly what the sandbox prints for its principals: audience dab.
    const accessToken = await sign({ sub: pending.principal.subject, groups: pending.principal.groups ?? [] }, { expiresIn: `${ttl}s` });
    const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope: pending.scope };
    if (pending.scope.split(' ').includes('openid')) body.id_token = await sign({ sub: pending.principal.subject }, { audience: pending.clientId, expiresIn: `${ttl}s` });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' }).end(JSON.stringify(body));
  }

  function sweep(): void {
    const now = Date.now();
    for (const [code, p] of codes) if (p.expiresAt < now) codes.delete(code);
  }

  return {
    configure(opts) {
      options = opts;
    },
    discovery(base) {
      if (!options) return {};
      return {
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        subject_types_supported: ['public'],
        scopes_supported: ['openid'],
      };
    },
    handle(req, res, base) {
      if (!options) return false;
      const url = new URL(req.url ?? '/', base);
      const run = (p: Promise<void>) => void p.catch((err: Error) => page(res, 400, 'Sign-in failed', `<p>${escapeHtml(err.message)}</p>`));
      if (url.pathname === '/authorize' && req.method === 'GET') return run(authorizeGet(url, res)), true;
      if (url.pathname === '/authorize' && req.method === 'POST') return run(authorizePost(req, res)), true;
      if (url.pathname === '/token' && req.method === 'OPTIONS') {
        allowOrigin(req, res);
        return res.writeHead(204, { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type, accept', 'access-control-max-age': '600' }).end(), true;
      }
      if (url.pathname === '/token' && req.method === 'POST') return run(token(req, res)), true;
      return false;
    },
  };
}

const AUTHORIZE_KEYS = ['client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method', 'response_type'];

function checkAuthorizeParams(params: URLSearchParams): string | undefined {
  if (params.get('response_type') !== 'code') return 'response_type must be code';
  if (params.get('code_challenge_method') !== 'S256') return 'PKCE with code_challenge_method S256 is required';
  if (!/^[A-Za-z0-9_-]{43}$/.test(params.get('code_challenge') ?? '')) return 'code_challenge must be a base64url SHA-256';
  return undefined;
}

function redirectError(res: ServerResponse, redirectUri: string, state: string | null, error: string, description: string): void {
  const target = new URL(redirectUri);
  target.searchParams.set('error', error);
  target.searchParams.set('error_description', description);
  if (state !== null) target.searchParams.set('state', state);
  res.writeHead(303, { location: target.href, 'cache-control': 'no-store' }).end();
}

function page(res: ServerResponse, status: number, title: string, body: string, formTarget?: string): void {
  // No script at all; the form may post here and be redirected to the client (form-action covers redirects).
  const csp = `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${formTarget ? ` ${formTarget}` : ''}; frame-ancestors 'none'; base-uri 'none'`;
  const style = 'body{font:16px system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}ul{list-style:none;padding:0}li{margin:.6rem 0}button{font:inherit;padding:.5rem .9rem;cursor:pointer}li span{color:#555}';
  res
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp, 'cache-control': 'no-store', 'x-frame-options': 'DENY' })
    .end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
