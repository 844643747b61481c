import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CliError, EXIT, usage, type CliIo } from './cli-errors.js';

/**
 * How every client command reaches dab: its URL and the bearer token to present. One place, so
 * `dab creds` and the `dab audit` commands accept the same flags and environment, and fail alike.
 */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'token-command': { type: 'string' },
} as const;

/** dab's base URL from --url or DAB_URL. */
export function dabUrl(flag: string | undefined, io: CliIo): string {
  const url = flag ?? io.env.DAB_URL;
  if (!url) throw usage("dab's URL is missing: pass --url or set DAB_URL");
  if (!URL.canParse(url)) throw usage(`--url/DAB_URL is not a URL: ${url}`);
  return url;
}

/**
 * The caller's bearer token. The command line beats the environment: --token, then
 * --token-command, then DAB_TOKEN, then DAB_TOKEN_COMMAND (a shell's stale DAB_TOKEN must not
 * shadow the command someone just typed).
 */
export async function bearerToken(flag: string | undefined, command: string | undefined, io: CliIo): Promise<string> {
  if (flag) return flag.trim();
  if (command) return runTokenCommand(command, '--token-command');
  if (io.env.DAB_TOKEN) return io.env.DAB_TOKEN.trim();
  if (io.env.DAB_TOKEN_COMMAND) return runTokenCommand(io.env.DAB_TOKEN_COMMAND, 'DAB_TOKEN_COMMAND');
  throw usage('no caller token: pass --token, set DAB_TOKEN, or set DAB_TOKEN_COMMAND to a command that prints one');
}

async function runTokenCommand(cmd: string, source: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', cmd], { timeout: 30_000 });
    const token = stdout.trim();
    if (!token) throw new Error('it printed nothing');
    return token;
  } catch (err) {
    const e = err as { code?: unknown; killed?: boolean; message?: string };
    const why = e.killed ? 'no answer within 30 s' : typeof e.code === 'number' ? `exit ${e.code}` : (e.message ?? 'failed').split('\n')[0];
    throw new CliError(`the token command failed (${why}): check ${source}`, EXIT.failure);
  }
}
