/** Distinct exit codes so scripts can tell a typo from an outage from a refusal. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  unreachable: 4,
  denied: 5,
  unauthenticated: 6,
  unavailable: 7,
  /** dab audit verify: the log (or its seal chain) does not match what was sealed or signed. */
  tampered: 8,
  /** dab audit verify: nothing checked is broken, but archived history cannot be authenticated (no checkpoint public key). */
  unanchored: 9,
} as const;

/** An expected failure: printed as one line `dab: <message>`, exit with its code; no stack. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const usage = (message: string) => new CliError(`${message} (see --help)`, EXIT.usage);

/**
 * Flags whose meaning was made the same in every command: the old spelling fails with the new
 * one named rather than being read as something else (--output json would otherwise be a file).
 */
const MOVED_FLAGS: Record<string, string> = {
  '-f': '-f is --file, a file dab reads, in every dab command; for the output format use --format',
  '--output': '--output (-o) is a file dab writes, in every dab command; for the output format use --format',
  '--output-file': 'this command writes no file; for the output format use --format',
};

/** A node:util parseArgs complaint as a usage error, naming the new flag where one moved. */
export function parseFailure(err: unknown): CliError {
  const message = (err as Error).message;
  const flag = /^Unknown option '([^']+)'/.exec(message)?.[1];
  const moved = flag ? MOVED_FLAGS[flag] : undefined;
  return usage(moved ? `unknown option ${flag} here: ${moved}` : message);
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Raw stdout for output streamed in chunks (dab audit export); process.stdout when absent. */
  stdout?: NodeJS.WritableStream;
  /** Only when stderr is a terminal: rewrites one status line in place (progress). */
  status?(text: string): void;
}
