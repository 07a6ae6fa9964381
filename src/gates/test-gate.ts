/**
 * @module The test gate: the repository's test command run on the branch's head in a throwaway detached checkout,
 * sandboxed without network; records pass/fail, the runner's counts and the output's tail. Its verdict is final: an
 * agent never overrules a failing run.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git } from '../workspace/git.js';
import { runSandboxed, type SandboxMode } from '../workspace/sandbox.js';
import type { GateVerdict } from '../workflow/workflow-steps.js';
import { parseTestCounts, type TestCounts } from './test-counts.js';

export interface TestGateOptions {
  repoPath: string;
  /** Branch or commit to test. */
  ref: string;
  command: string;
  mode: SandboxMode;
  timeoutMs: number;
  env: Readonly<Record<string, string | undefined>>;
  bwrapPath?: string;
  /** Paths hidden inside the sandbox (the data dir, credentials). */
  hiddenPaths?: readonly string[];
}

export interface TestGateResult {
  command: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  counts: TestCounts | null;
  /** The last lines of stdout and stderr together. */
  outputTail: string;
  durationMs: number;
}

const TAIL_CHARS = 8_000;

export async function runTestGate(options: TestGateOptions): Promise<TestGateResult> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'autodev-test-gate-'));
  const checkout = path.join(scratch, 'checkout');
  await git(options.repoPath, ['worktree', 'add', '--quiet', '--detach', checkout, options.ref]);
  try {
    const result = await runSandboxed({
      mode: options.mode,
      command: 'sh',
      args: ['-c', options.command],
      cwd: checkout,
      writablePaths: [checkout],
      hiddenPaths: options.hiddenPaths ?? [],
      env: options.env,
      network: false,
      timeoutMs: options.timeoutMs,
      maxOutputBytes: 256 * 1024,
      ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
    });
    const output = `${result.stdout}\n${result.stderr}`;
    const counts = parseTestCounts(output);
    const passed = result.exitCode === 0 && !result.timedOut && (counts?.failed ?? 0) === 0;
    return {
      command: options.command,
      passed,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      counts,
      outputTail: output.trim().slice(-TAIL_CHARS),
      durationMs: result.durationMs,
    };
  } finally {
    // A detached throwaway checkout: no branch, no commits of its own; only test artifacts are lost.
    await git(options.repoPath, ['worktree', 'remove', '--force', checkout], { okExitCodes: [128] });
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** The gate verdict of a test run, with the failure tail for the builder. */
export function testGateVerdict(result: TestGateResult): GateVerdict {
  if (result.passed) return { passed: true, findings: [] };
  const what = result.timedOut
    ? `timed out after ${Math.round(result.durationMs / 1000)}s`
    : result.counts
      ? `${result.counts.failed} failed, ${result.counts.passed} passed (exit ${String(result.exitCode)})`
      : `exit code ${String(result.exitCode)}`;
  const tail = result.outputTail.split('\n').slice(-30).join('\n');
  return { passed: false, findings: [`tests: "${result.command}" ${what}\n${tail}`] };
}
