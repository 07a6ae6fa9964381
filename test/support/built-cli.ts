/**
 * @module Runs the BUILT `autodev` CLI (`npm run build` first) as a user would, against a test database: a clean
 * environment (no AUTODEV_* or DATABASE_URL of the developer's), DATABASE_URL for PostgreSQL, --data-dir for SQLite.
 * In a process group of its own, killed with its test (`child-processes.ts`).
 */
import path from 'node:path';
import { builtCliEntry } from '../../src/config/package-root.js';
import { execFileInGroup } from './child-processes.js';
import type { TestDatabase } from './dialects.js';

/** The shipped CLI: the bundle `npm run build` makes (rolldown.config.ts). */
export const AUTODEV_BIN = builtCliEntry();

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `autodev --data-dir <the test database's dir> ...args`, with `extraEnv` on top of a clean environment. */
export function runBuiltCli(
  t: TestDatabase,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<CliOutcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', ...extraEnv };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
  const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
  return execFileInGroup(process.execPath, [AUTODEV_BIN, '--data-dir', dataDir, ...args], {
    env,
    cwd: t.dir,
    timeout: 20_000,
  });
}
