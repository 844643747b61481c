// Same-origin calls to dab's public API, with the signed-in person's bearer token. The console has
// no API of its own: what a person may see is what the API lets their token see.
import { accessToken } from './auth.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

let onExpired = () => undefined;
/** Called when the API answers 401 or the token has run out: the page says so and offers sign-in. */
export const whenExpired = (fn) => {
  onExpired = fn;
};

function urlFor(path, query) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
  }
  return url;
}

export async function request(method, path, { query, body, accept = 'application/json' } = {}) {
  const token = accessToken();
  if (!token) {
    onExpired();
    throw new ApiError(401, { title: 'Session expired', detail: 'Sign in again to continue.' });
  }
  const headers = { authorization: `Bearer ${token}`, accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(urlFor(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  if (res.status === 401) onExpired();
  if (!res.ok) {
    let problem;
    try {
      problem = await res.json();
    } catch {
      problem = { title: res.statusText || `HTTP ${res.status}` };
    }
    throw new ApiError(res.status, problem);
  }
  return res;
}

export const getJson = async (path, query) => (await request('GET', path, { query })).json();
export const postJson = async (path, body, query) => (await request('POST', path, { body, query })).json();

/** Whether this token may use a route: 403 means another tier, anything else (even 404) means yes. */
export async function mayUse(path) {
  try {
    await request('GET', path);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return false;
    if (err instanceof ApiError && err.status === 401) throw err;
    return err instanceof ApiError;
  }
}
