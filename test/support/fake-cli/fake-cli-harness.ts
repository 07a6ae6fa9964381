/**
 * @module Test-side handles on the fake agent CLIs: their paths, the recorded CLI output they replay, the environment
 * that picks a scenario, and checks on the fake's process (alive? gone?).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, onTestFinished } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

export const FAKE_CLAUDE = path.join(here, 'fake-claude.mjs');
export const FAKE_CODEX = path.join(here, 'fake-codex.mjs');
/** Real CLI output, copied unmodified from the shared reference (see test/fixtures/cli-recordings/README.md). */
export const RECORDINGS_DIR = path.resolve(here, '../../fixtures/cli-recordings');

// The Codex SDK runs its executable directly, so the fake must keep its executable bit (a checkout may lose it).
for (const file of [FAKE_CLAUDE, FAKE_CODEX]) if (existsSync(file)) chmodSync(file, 0o755);

/**
 * A temporary directory, removed when the test that made it ends (or, made while a file is collected, after that
 * file). Registered per call: a worker keeps this module across files (`isolate: false`), so a hook registered once
 * at import would clean up after the first file only.
 */
export function scratchDir(prefix = 'autodev-llm-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    onTestFinished(remove);
  } catch {
    afterAll(remove);
  }
  return dir;
}

export function recording(provider: 'claude' | 'codex', name: string): string {
  const file = path.join(RECORDINGS_DIR, provider, name);
  if (!existsSync(file)) throw new Error(`no recording ${file}`);
  return file;
}

export type FakeScenario = 'replay' | 'crash' | 'hang' | 'over-budget' | 'slow' | 'write-hang' | 'escape';

export interface FakeCliRun {
  /** The environment for the session: PATH and HOME plus the fake's scenario variables. */
  env: Record<string, string>;
  pidFile: string;
  logFile: string;
  dir: string;
}

/** A scratch directory and the environment that makes the fake play `scenario` (from `recordingFile`). */
export function fakeCliRun(
  scenario: FakeScenario,
  recordingFile?: string,
  extra: Record<string, string> = {},
): FakeCliRun {
  const dir = scratchDir('autodev-fake-cli-');
  const pidFile = path.join(dir, 'cli.pid');
  const logFile = path.join(dir, 'calls.jsonl');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    FAKE_CLI_SCENARIO: scenario,
    FAKE_CLI_PID_FILE: pidFile,
    FAKE_CLI_LOG_FILE: logFile,
    ...extra,
  };
  if (recordingFile) env.FAKE_CLI_RECORDING = recordingFile;
  return { env, pidFile, logFile, dir };
}

export interface FakeCliCall {
  argv: string[];
  cwd: string;
  stdin: string[];
  env: string[];
}

export function fakeCliCalls(run: FakeCliRun): FakeCliCall[] {
  if (!existsSync(run.logFile)) return [];
  return readFileSync(run.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FakeCliCall);
}

export function fakeCliPid(run: FakeCliRun): number | null {
  return existsSync(run.pidFile) ? Number(readFileSync(run.pidFile, 'utf8')) : null;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the fake wrote its pid file (it has started and printed its first lines). */
export async function waitForPid(run: FakeCliRun, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = fakeCliPid(run);
    if (pid) return pid;
    if (Date.now() > deadline) throw new Error('the fake CLI never started');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True once the process is gone (a zombie not yet reaped counts as alive, so this waits for the reap). */
export async function waitForExit(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isProcessAlive(pid);
}
