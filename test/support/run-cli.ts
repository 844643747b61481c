import { runCli } from '../../src/cli/run-cli.js';

/** Runs one dab command in-process and captures what a terminal would show. */
export async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
