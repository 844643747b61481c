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

/** The caller's bearer token: --token, DAB_TOKEN, or the output of --token-command / DAB_TOKEN_COMMAND. */
export async function bearerToken(flag: string | undefined, command: string | undefined, io: CliIo): Promise<string> {
  const direct = flag ?? io.env.DAB_TOKEN;
  if (direct) return direct.trim();
  const cmd = command ?? io.env.DAB_TOKEN_COMMAND;
  if (!cmd) throw usage('no caller token: pass --token, set DAB_TOKEN, or set DAB_TOKEN_COMMAND to a command that prints one');
  try {
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', cmd], { timeout: 30_000 });
    const token = stdout.trim();
    if (!token) throw new Error('it printed nothing');
    return token;
  } catch (err) {
    throw new CliError(`the token command failed (${(err as Error).message.split('\n')[0]}): check DAB_TOKEN_COMMAND`, EXIT.failure);
  }
}
