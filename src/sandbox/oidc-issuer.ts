import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createOidcLogin, type LoginOptions } from './oidc-login.js';

/**
 * A local OIDC issuer for tests and the sandbox: serves a discovery document and a JWKS over HTTP
 * and signs tokens with its current key. Keys can be rotated and retired like a real IdP's.
 */
export interface OidcIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** How many times the JWKS was fetched (to prove dab's cool-down on unknown kids). */
  readonly jwksFetches: number;
  readonly currentKid: string;
  sign(claims: JWTPayload & { sub: string }, opts?: SignOptions): Promise<string>;
  /** Adds a new signing key; the old one stays published until retired. Returns the new kid. */
  rotate(): Promise<string>;
  retire(kid: string): void;
  /** Makes the JWKS endpoint fail (503) or hang, to test fail-closed behaviour. */
  setJwksFault(fault: 'none' | 'error' | 'hang'): void;
  /** Turns on /authorize (a login page for these principals) and /token for these public clients. */
  enableLogin(opts: LoginOptions): void;
  close(): Promise<void>;
}

export interface SignOptions {
  audience?: string;
  issuer?: string;
  expiresIn?: string | number;
  notBefore?: string | number;
  kid?: string;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<SigningKey> {
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export async function startOidcIssuer(opts: { host?: string; port?: number; audience?: string } = {}): Promise<OidcIssuer> {
  const keys: SigningKey[] = [await newKey()];
  let fetches = 0;
  let fault: 'none' | 'error' | 'hang' = 'none';
  const hanging = new Set<import('node:http').ServerResponse>();
  let base = '';
  const login = createOidcLogin((claims, o) => issuerApi.sign(claims, o));

  const server: Server = createServer((req, res) => {
    // Discovery and keys are public: a browser client (dab's console) reads them cross-origin.
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      return send(200, { issuer: base, jwks_uri: `${base}/jwks`, id_token_signing_alg_values_supported: ['RS256'], ...login.discovery(base) });
    }
    if (login.handle(req, res, base)) return;
    if (req.url === '/jwks') {
      fetches++;
      if (fault === 'hang') return void hanging.add(res);
      if (fault === 'error') return send(503, { error: 'unavailable' });
      return send(200, { keys: keys.map((k) => k.publicJwk) });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  base = `http://${opts.host ?? '127.0.0.1'}:${address.port}`;
  const current = () => keys[keys.length - 1] as SigningKey;

  const issuerApi: OidcIssuer = {
    issuer: base,
    jwksUrl: `${base}/jwks`,
    get jwksFetches() {
      return fetches;
    },
    get currentKid() {
      return current().kid;
    },
    async sign(claims, o = {}) {
      const key = o.kid ? keys.find((k) => k.kid === o.kid) : current();
      if (!key) throw new Error(`no key ${o.kid}`);
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
        .setIssuer(o.issuer ?? base)
        .setAudience(o.audience ?? opts.audience ?? 'dab')
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(o.expiresIn ?? '10m');
      if (o.notBefore !== undefined) jwt.setNotBefore(o.notBefore);
      return jwt.sign(key.privateKey);
    },
    async rotate() {
      const key = await newKey();
      keys.push(key);
      return key.kid;
    },
    retire(kid) {
      const i = keys.findIndex((k) => k.kid === kid);
      if (i >= 0 && keys.length > 1) keys.splice(i, 1);
    },
    setJwksFault(next) {
      fault = next;
    },
    enableLogin(opts) {
      login.configure(opts);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return issuerApi;
}
