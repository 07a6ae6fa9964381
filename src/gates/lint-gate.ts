/**
 * @module The lint gate: the repository's lint command on the branch's head, in the same sandboxed throwaway
 * checkout as the test gate (no network). A non-zero exit fails the review gate with the output's tail as the finding;
 * a clean lint leaves the reviewer's verdict standing.
 */
import type { SandboxMode } from '../workspace/sandbox.js';
import type { GateVerdict } from '../workflow/workflow-steps.js';
import { outputTail, runInCheckout } from './checkout-command.js';

export interface LintGateOptions {
  repoPath: string;
  ref: string;
  command: string;
  mode: SandboxMode;
  timeoutMs: number;
  env: Readonly<Record<string, string | undefined>>;
  bwrapPath?: string;
  hiddenPaths?: readonly string[];
  signal?: AbortSignal;
}

export interface LintGateResult {
  command: string;
  commit: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  outputTail: string;
  durationMs: number;
}

export async function runLintGate(options: LintGateOptions): Promise<LintGateResult> {
  const run = await runInCheckout({ ...options, network: false });
  return {
    command: run.command,
    commit: run.commit,
    passed: run.exitCode === 0 && !run.timedOut,
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    outputTail: outputTail(run.output),
    durationMs: run.durationMs,
  };
}

/** A failing lint is a failing review gate; a passing one has no verdict of its own (the reviewer decides). */
export function lintGateVerdict(result: LintGateResult): GateVerdict | undefined {
  if (result.passed) return undefined;
  const what = result.timedOut
    ? `timed out after ${Math.round(result.durationMs / 1000)}s`
    : `exit code ${String(result.exitCode)}`;
  const tail = result.outputTail.split('\n').slice(-30).join('\n');
  return { passed: false, findings: [`review: lint "${result.command}" failed (${what})\n${tail}`] };
}
