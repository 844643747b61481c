/** Distinct exit codes so scripts can tell a typo from an outage. */
export const EXIT = {
  failure: 1,
  usage: 2,
  config: 3,
  unreachable: 4,
  denied: 5,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** One clear line on stderr, then exit: no stack traces for expected failures. */
export function fail(message: string, code: number): never {
  process.stderr.write(`dab: ${message}\n`);
  process.exit(code);
}
