// Sign-in: OIDC authorization code flow with PKCE, public client, via oauth4webapi.
// The tokens live in this module's memory only: never in a URL, localStorage or a cookie. Only
// the PKCE verifier, state and the page to return to cross the redirect, in sessionStorage, and
// are removed as soon as the browser is back.
import * as oauth from '../vendor/oauth4webapi.js';

const PENDING_KEY = 'dab-console.sign-in';
let session = null;
let discovered;

export function readSettings() {
  const meta = document.querySelector('meta[name="dab-console"]');
  try {
    return meta ? JSON.parse(meta.content) : null;
  } catch {
    return null;
  }
}

// http is accepted only for a loopback issuer (dab's config refuses any other): the sandbox.
const transport = (issuer) => (issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {});
export const redirectUri = () => `${location.origin}/console/`;

async function authorizationServer(settings) {
  const issuer = new URL(settings.issuer);
  discovered ??= oauth
    .discoveryRequest(issuer, { algorithm: 'oidc', ...transport(issuer) })
    .then((res) => oauth.processDiscoveryResponse(issuer, res));
  try {
    return await discovered;
  } catch (err) {
    discovered = undefined;
    throw new Error(`the issuer ${settings.issuer} could not be reached or described itself wrongly (${err.message})`);
  }
}

/** Goes to the issuer's login page; comes back to /console/ with a code. */
export async function signIn(settings, returnTo) {
  const as = await authorizationServer(settings);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, returnTo, startedAt: Date.now() }));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', settings.scopes.join(' '));
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (settings.audience) url.searchParams.set('audience', settings.audience);
  location.assign(url.href);
}

/**
 * On return from the issuer: strips the code from the address bar at once, then trades it for
 * tokens at the token endpoint. Returns the page to go to, or null when this is no sign-in return.
 */
export async function completeSignIn(settings) {
  const here = new URL(location.href);
  if (!here.searchParams.has('code') && !here.searchParams.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null');
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, '', `/console/${pending?.returnTo ?? '#/'}`);
  if (!pending) throw new Error('this sign-in was not started from this tab; sign in again');
  const as = await authorizationServer(settings);
  const client = { client_id: settings.clientId };
  const params = oauth.validateAuthResponse(as, client, here, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri(), pending.verifier, transport(new URL(settings.issuer)));
  const result = await oauth.processAuthorizationCodeResponse(as, client, response);
  const claims = oauth.getValidatedIdTokenClaims(result);
  const expiresIn = typeof result.expires_in === 'number' ? result.expires_in : 3600;
  session = { accessToken: result.access_token, subject: claims?.sub ?? subjectOf(result.access_token), expiresAt: Date.now() + expiresIn * 1000 };
  return pending.returnTo ?? '#/';
}

/** The bearer token while the session lasts; null once signed out or expired. */
export function accessToken() {
  if (!session || Date.now() >= session.expiresAt) return null;
  return session.accessToken;
}

export const currentSession = () => (session ? { subject: session.subject, expiresAt: session.expiresAt } : null);

export function signOut() {
  session = null;
  sessionStorage.removeItem(PENDING_KEY);
}

/** For display only (dab verifies the token): the subject of a JWT access token. */
function subjectOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).sub ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
