import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../config/config-schema.js';
import { AppError } from '../http/problem.js';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets.js';

/**
 * The web console: static pages at /console/ that sign a person in at the configured OIDC issuer
 * and then call dab's existing API with that person's bearer token, from the browser. Nothing here
 * authenticates or authorizes: the API routes do, exactly as for curl. The routes are hidden from
 * the OpenAPI document because they are not API.
 */
export async function consoleRoutes(app: FastifyInstance, opts: { console: Config['console'] }): Promise<void> {
  const assets = loadConsoleAssets();
  const template = assets.get('index.html');
  if (!template) throw new Error('console: index.html is missing from the package');
  const index: ConsoleAsset = { type: template.type, body: Buffer.from(renderIndex(template.body.toString('utf8'), opts.console.oidc)) };
  const csp = contentSecurityPolicy(opts.console.oidc?.issuer);

  const send = (reply: FastifyReply, asset: ConsoleAsset, cache: string) =>
    reply
      .header('content-type', asset.type)
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cache-control', cache)
      .send(asset.body);

  const hide = { hide: true } as Record<string, unknown>;
  app.get('/console', { schema: hide }, (_request, reply) => reply.redirect('/console/', 302));
  // The page itself is never cached: it carries the configuration.
  app.get('/console/', { schema: hide }, (_request, reply) => send(reply, index, 'no-store'));
  app.get('/console/*', { schema: hide }, (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const asset = name === 'index.html' ? index : assets.get(name);
    if (!asset) throw new AppError('not_found', 'no such console file');
    // Revalidated each time (no versioned names without a bundler), so an upgrade is picked up at once.
    return send(reply, asset, 'no-cache');
  });
}

/**
 * Scripts only from dab itself, no inline script or eval; the only other origin the page may talk
 * to is the issuer (discovery and its token endpoint, which the browser calls with PKCE).
 */
export function contentSecurityPolicy(issuer: string | undefined): string {
  const connect = ["'self'", ...(issuer ? [new URL(issuer).origin] : [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The OIDC client settings go into a meta tag (HTML-escaped JSON): no inline script, no extra endpoint. */
function renderIndex(html: string, oidc: Config['console']['oidc']): string {
  const settings = oidc ? { issuer: oidc.issuer, clientId: oidc.clientId, scopes: oidc.scopes, ...(oidc.audience ? { audience: oidc.audience } : {}) } : null;
  const escaped = JSON.stringify(settings).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  if (!html.includes('{{CONSOLE_SETTINGS}}')) throw new Error('console: index.html lacks its settings placeholder');
  return html.replace('{{CONSOLE_SETTINGS}}', escaped);
}
