/**
 * @module Runs an `autodev` command line in this process through `runCli` (the program builder with injected
 * dependencies): the same commands, parsing, errors and exit codes as the built binary, without a node start and a
 * migration check per call. For bad-input tests; a few spawned smoke tests keep the binary itself covered.
 */
import path from 'node:path';
import { runCli } from '../../src/cli/run.js';
import type { TestDatabase } from './dialects.js';

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

/** `runBuiltCli`'s twin in process: `autodev --data-dir <the test database's dir> ...args` on the test database. */
export function runCliInProcessOn(
  t: TestDatabase,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<InProcessOutcome> {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent', ...extraEnv };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
  const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
  return runCliInProcess(['--data-dir', dataDir, ...args], { env, cwd: t.dir });
}
