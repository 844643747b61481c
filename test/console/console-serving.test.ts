import t from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import { contentSecurityPolicy } from '../../src/console/console-plugin.js';
import { startHarness } from '../support/harness.js';

// How dab serves the console, without a browser: headers, media types, the settings it embeds,
// console.enabled, config validation, and that the routes stay out of the API document.

const h = await startHarness(t, {
  config: (c) => {
    c.console = { oidc: { issuer: c.auth.issuers[0].issuer, clientId: 'dab-console', scopes: ['openid', 'profile'], audience: 'dab' } };
  },
});
const get = (url: string) => h.app.inject({ method: 'GET', url });

t.test('the page carries a strict CSP and the OIDC client settings, and is never cached', async (t) => {
  const res = await get('/console/');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  const csp = String(res.headers['content-security-policy']);
  for (const directive of ["default-src 'none'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", `connect-src 'self' ${new URL(h.issuer.issuer).origin}`]) {
    t.ok(csp.split('; ').includes(directive), directive);
  }
  t.notMatch(csp, /unsafe-inline|unsafe-eval|\*/, 'no inline script, no eval, no wildcard');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.equal(res.headers['cache-control'], 'no-store');
  // No inline script at all: every <script> has a src on this origin.
  const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  t.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    t.match(attrs, /src="js\/[\w-]+\.js"/);
    t.equal(body, '', 'nothing inline');
  }
  const meta = /<meta name="dab-console" content="([^"]*)">/.exec(res.body)?.[1] ?? '';
  const settings = JSON.parse(meta.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))));
  t.same(settings, { issuer: h.issuer.issuer, clientId: 'dab-console', scopes: ['openid', 'profile'], audience: 'dab' });
  t.equal((await get('/console')).headers.location, '/console/', '/console redirects to the page');
});

t.test('assets are served with their media types; anything else is a 404 problem', async (t) => {
  const want: Record<string, string> = {
    'js/main.js': 'text/javascript; charset=utf-8',
    'js/auth.js': 'text/javascript; charset=utf-8',
    'vendor/htm-preact.js': 'text/javascript; charset=utf-8',
    'vendor/oauth4webapi.js': 'text/javascript; charset=utf-8',
    'vendor/yaml/index.js': 'text/javascript; charset=utf-8',
    'console.css': 'text/css; charset=utf-8',
    'favicon.svg': 'image/svg+xml',
  };
  for (const [name, type] of Object.entries(want)) {
    const res = await get(`/console/${name}`);
    t.equal(res.statusCode, 200, name);
    t.equal(res.headers['content-type'], type, name);
    t.equal(res.headers['x-content-type-options'], 'nosniff', name);
    t.ok(res.headers['content-security-policy'], name);
  }
  t.match((await get('/console/vendor/htm-preact.js')).body, /export\{/, 'an ES module');
  for (const bad of ['/console/nope.js', '/console/../package.json', '/console/%2e%2e/package.json', '/console/js/', '/console/js/../../app.ts', '/console/index.html/x']) {
    const res = await get(bad);
    t.equal(res.statusCode, 404, bad);
    t.match(res.headers['content-type'], /^application\/problem\+json/, bad);
  }
});

t.test('no script fetches anything but its own origin and the issuer', async (t) => {
  for (const name of ['js/main.js', 'js/auth.js', 'js/api.js', 'js/pages-events.js', 'js/pages-audit.js', 'js/pages-decide.js', 'js/pages-databases.js']) {
    const body = (await get(`/console/${name}`)).body;
    t.notMatch(body, /https?:\/\/(?!\$)/, `${name} names no absolute URL`);
    t.notMatch(body, /localStorage\.|document\.cookie|\beval\(|new Function/, `${name}: no localStorage, cookies or eval`);
    t.notMatch(body, /searchParams\.set\('(access_token|token)'/, `${name}: never puts a token in a URL`);
  }
  const api = (await get('/console/js/api.js')).body;
  t.match(api, /authorization: `Bearer \$\{token\}`/, 'the token goes in the Authorization header');
  t.match(api, /credentials: 'omit'/);
});

t.test('the console routes are not part of the API document', async (t) => {
  const doc = h.app.swagger() as { paths: Record<string, unknown> };
  t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/console')));
});

t.test('console.enabled false: /console is a 404', async (t) => {
  const off = await startHarness(t, { config: (c) => (c.console = { enabled: false }) });
  for (const url of ['/console', '/console/', '/console/js/main.js']) {
    const res = await off.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
  }
});

t.test('without console.oidc the page says how to configure sign-in', async (t) => {
  const bare = await startHarness(t);
  const res = await bare.app.inject({ method: 'GET', url: '/console/' });
  t.equal(res.statusCode, 200);
  t.match(res.body, '<meta name="dab-console" content="null">');
  t.match(String(res.headers['content-security-policy']), "connect-src 'self';");
  t.match((await bare.app.inject({ method: 'GET', url: '/console/js/main.js' })).body, 'Console sign-in is not configured');
});

t.test('console config is validated like the rest', async (t) => {
  const base = (extra: Record<string, unknown>) => ({
    auth: { issuers: [{ issuer: 'https://idp.example.com', audience: 'dab' }] },
    audit: { fingerprintKey: 'a'.repeat(64) },
    console: extra,
  });
  t.match(parseConfig(base({})).console, { enabled: true }, 'on by default');
  t.same(parseConfig(base({ oidc: { issuer: 'https://idp.example.com', clientId: 'c' } })).console.oidc, { issuer: 'https://idp.example.com', clientId: 'c', scopes: ['openid'] }, 'scopes default to openid');
  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an issuer dab does not trust', { oidc: { issuer: 'https://other.example.com', clientId: 'c' } }, /console\.oidc\.issuer: "https:\/\/other\.example\.com" is not one of auth\.issuers/],
    ['no client id', { oidc: { issuer: 'https://idp.example.com' } }, /clientId/],
    ['an empty client id', { oidc: { issuer: 'https://idp.example.com', clientId: '' } }, /clientId/],
    ['a client id with a space', { oidc: { issuer: 'https://idp.example.com', clientId: 'a b' } }, /clientId/],
    ['no scopes', { oidc: { issuer: 'https://idp.example.com', clientId: 'c', scopes: [] } }, /scopes/],
    ['a scope with a quote', { oidc: { issuer: 'https://idp.example.com', clientId: 'c', scopes: ['a"b'] } }, /scopes/],
    ['an unknown field', { oidc: { issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's' } }, /clientSecret|additional/],
    ['a non-boolean enabled', { enabled: 'yes' }, /enabled/],
    ['an issuer that is no URL', { oidc: { issuer: 'idp', clientId: 'c' } }, /issuer/],
  ];
  for (const [what, extra, message] of refused) t.throws(() => parseConfig(base(extra)), { name: 'ConfigError', message }, what);
  const http = { auth: { issuers: [{ issuer: 'http://idp.example.com', audience: 'dab' }] }, audit: { fingerprintKey: 'a'.repeat(64) }, console: { oidc: { issuer: 'http://idp.example.com', clientId: 'c' } } };
  t.throws(() => parseConfig(http), { message: /console\.oidc\.issuer: http is accepted only for a loopback issuer/ }, 'plain http only on loopback');
  http.auth.issuers[0]!.issuer = 'http://127.0.0.1:9000';
  http.console.oidc.issuer = 'http://127.0.0.1:9000';
  t.doesNotThrow(() => parseConfig(http), 'the sandbox issuer on loopback is fine');
});

t.test('the CSP names the issuer origin only, not its path', async (t) => {
  t.equal(contentSecurityPolicy('https://login.example.com/tenant/v2.0').match(/connect-src [^;]+/)?.[0], "connect-src 'self' https://login.example.com");
  t.equal(contentSecurityPolicy(undefined).match(/connect-src [^;]+/)?.[0], "connect-src 'self'");
});
