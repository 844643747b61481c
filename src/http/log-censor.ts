/**
 * Belt and braces for invariant 3: dab never logs a secret, and if some code path ever tries, the
 * logger writes "[redacted]" in its place. Any property with one of these names, at any of the first
 * three levels of a logged object (so `grant.token`, `headers.authorization`,
 * `req.headers.cookie`), is censored.
 *
 * Why not pino's `redact` option: its wildcard paths clone every logged object on every call; under
 * load that was 39 % of all the bytes the server allocated (npm run bench with an allocation
 * profile), and the garbage it leaves is what grew the heap. This walk allocates nothing unless it
 * finds a secret, and then copies only the objects on the way to it.
 */
export const CENSOR = '[redacted]';

const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'token',
  'password',
  'secretAccessKey',
  'sessionToken',
  'SecretAccessKey',
  'SessionToken',
  'externalId',
]);

const MAX_DEPTH = 3;

/** The object to log: `value` itself when it holds no secret, else a copy with each secret censored. */
export function censorSecrets<T>(value: T): T {
  return censorAt(value, 1) as T;
}

function censorAt(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const current = source[key];
    let next = current;
    if (SECRET_KEYS.has(key) && current !== undefined && current !== null) next = CENSOR;
    else if (depth < MAX_DEPTH && current !== null && typeof current === 'object') next = censorAt(current, depth + 1);
    if (next !== current) {
      copy ??= shallowCopy(value);
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  return copy ?? value;
}

// An Error keeps what the log's error serializer reads (its message and stack are not enumerable).
function shallowCopy(value: object): Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return [...value];
  const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>, value);
  if (value instanceof Error) Object.assign(copy, { message: value.message, stack: value.stack, name: value.name });
  return copy;
}
