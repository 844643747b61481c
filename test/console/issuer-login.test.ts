import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import t from 'tap';
import { ADMIN_SUBJECT, startHarness } from '../support/harness.js';

// The sandbox issuer's sign-in side, over HTTP: what the console's browser does, and every way a
// request can be wrong. The token it mints must be one dab's JWT authenticator accepts.

const h = await startHarness(t);
const base = h.issuer.issuer;
const CLIENT = 'dab-console';
const REDIRECT = 'http://127.0.0.1:1/console/';
const discovery = async () => (await fetch(`${base}/.well-known/openid-configuration`)).json() as Promise<Record<string, unknown>>;

t.test('discovery lists the endpoints once sign-in is on', async (t) => {
  t.notOk((await discovery()).authorization_endpoint, 'off until enabled: the tests that only sign tokens see no change');
  t.equal((await fetch(`${base}/authorize`)).status, 404);
  h.issuer.enableLogin({ clients: [{ clientId: CLIENT, redirectUris: [REDIRECT] }], principals: [{ subject: ADMIN_SUBJECT, label: 'the DBA' }], tokenTtlSeconds: 600 });
  const doc = await discovery();
  t.match(doc, { issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`, code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['none'] });
});

const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');
const authorizeParams = (over: Record<string, string | undefined> = {}) => {
  const all: Record<string, string | undefined> = { client_id: CLIENT, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 'st"<x>', ...over };
  return new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
};
const authorize = (over: Record<string, string | undefined> = {}) => fetch(`${base}/authorize?${authorizeParams(over)}`, { redirect: 'manual' });
const login = (subject: string, over: Record<string, string | undefined> = {}) => {
  const form = authorizeParams(over);
  form.set('subject', subject);
  return fetch(`${base}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
};
const codeFrom = async (res: Response) => new URL(res.headers.get('location') as string).searchParams.get('code') as string;
const token = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: CLIENT, redirect_uri: REDIRECT, code_verifier: verifier, ...fields }) });

t.test('the login page lists the principals, escapes what it echoes, runs no script', async (t) => {
  const res = await authorize();
  t.equal(res.status, 200);
  const html = await res.text();
  t.match(html, `<button type="submit" name="subject" value="${ADMIN_SUBJECT}">`);
  t.match(html, 'value="st&#34;&#60;x&#62;"', 'the state is escaped');
  t.notMatch(html, /<script/);
  t.match(res.headers.get('content-security-policy'), /default-src 'none'.*form-action 'self' http:\/\/127\.0\.0\.1:1;/);
});

t.test('a bad client or redirect URI is shown, never redirected to', async (t) => {
  for (const over of [{ client_id: 'someone-else' }, { redirect_uri: 'http://127.0.0.1:1/console/evil' }, { redirect_uri: 'http://evil.example/console/' }, { client_id: undefined }]) {
    const res = await authorize(over);
    t.equal(res.status, 400, JSON.stringify(over));
    t.equal(res.headers.get('location'), null, JSON.stringify(over));
  }
});

t.test('no PKCE, plain PKCE or another response type: an error back at the client', async (t) => {
  for (const over of [{ code_challenge: undefined }, { code_challenge_method: 'plain' }, { code_challenge: 'short' }, { response_type: 'token' }]) {
    const res = await authorize(over);
    t.equal(res.status, 303, JSON.stringify(over));
    const back = new URL(res.headers.get('location') as string);
    t.equal(back.origin + back.pathname, REDIRECT);
    t.equal(back.searchParams.get('error'), 'invalid_request', JSON.stringify(over));
    t.equal(back.searchParams.get('code'), null);
  }
  const unknown = await login('not-a-demo-principal');
  t.equal(new URL(unknown.headers.get('location') as string).searchParams.get('error'), 'access_denied');
});

t.test('the code flow mints a token dab accepts; the code works once, with its verifier only', async (t) => {
  const res = await login(ADMIN_SUBJECT);
  t.equal(res.status, 303);
  const back = new URL(res.headers.get('location') as string);
  t.equal(back.searchParams.get('state'), 'st"<x>', 'the state comes back as sent');
  const code = back.searchParams.get('code') as string;
  t.match(code, /^[\w-]{43}$/);

  const ok = await token({ code }, { origin: 'http://127.0.0.1:1' });
  t.equal(ok.status, 200);
  t.equal(ok.headers.get('cache-control'), 'no-store');
  t.equal(ok.headers.get('access-control-allow-origin'), 'http://127.0.0.1:1', 'CORS for the registered client origin');
  const body = (await ok.json()) as { access_token: string; id_token: string; token_type: string; expires_in: number };
  t.match(body, { token_type: 'Bearer', expires_in: 600 });
  const access = decodeJwt(body.access_token);
  t.match(access, { iss: base, aud: 'dab', sub: ADMIN_SUBJECT, groups: [] });
  t.equal((access.exp as number) - (access.iat as number), 600);
  t.match(decodeJwt(body.id_token), { iss: base, aud: CLIENT, sub: ADMIN_SUBJECT });
  const mine = await h.app.inject({ method: 'GET', url: '/v1/databases', headers: { authorization: `Bearer ${body.access_token}` } });
  t.equal(mine.statusCode, 200, "dab's admin API accepts the DBA's console token");

  const again = await token({ code });
  t.equal(again.status, 400);
  t.match(await again.json(), { error: 'invalid_grant' }, 'a code works once');
});

t.test('a wrong verifier, client or redirect URI burns the code', async (t) => {
  const wrong: Array<Record<string, string>> = [{ code_verifier: randomBytes(32).toString('base64url') }, { client_id: 'other' }, { redirect_uri: 'http://127.0.0.1:1/elsewhere/' }, { code_verifier: 'short' }];
  for (const fields of wrong) {
    const code = await codeFrom(await login(ADMIN_SUBJECT));
    const bad = await token({ code, ...fields });
    t.equal(bad.status, 400, JSON.stringify(fields));
    t.match(await bad.json(), { error: 'invalid_grant' });
    const retry = await token({ code });
    t.equal(retry.status, 400, 'and it cannot be retried with the right one');
  }
  const code = await codeFrom(await login(ADMIN_SUBJECT));
  const other = await token({ code }, { origin: 'http://evil.example' });
  t.equal(other.headers.get('access-control-allow-origin'), null, 'no CORS for another origin');
  t.equal((await token({ code: 'never-issued' })).status, 400);
  t.match(await (await token({ code: 'x', grant_type: 'password' })).json(), { error: 'unsupported_grant_type' });
  const json = await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.match(await json.json(), { error: 'invalid_request' }, 'a form body only');
});
