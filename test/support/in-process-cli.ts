/**
 * @module Runs an `autodev` command line in this process through `runCli` (the program builder with injected
 * dependencies): the same commands, parsing, errors and exit codes as the built binary, without a node start and a
 * migration check per call. For bad-input tests; a few spawned smoke tests keep the binary itself covered.
 */
import { runCli } from '../../src/cli/run.js';

export interface InProcessOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCliInProcess(
  args: readonly string[],
  options: { env: Readonly<Record<string, string | undefined>>; cwd: string },
): Promise<InProcessOutcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: options.env,
    cwd: options.cwd,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    now: Date.now,
    listenForShutdown: () => new AbortController().signal,
  });
  return { code, stdout, stderr };
}
