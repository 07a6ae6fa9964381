/**
 * @module The test gate: the repository's test command run on the branch's head in a throwaway detached checkout,
 * sandboxed without network; records pass/fail, the runner's counts, the failing tests' names and messages, the total
 * coverage when the output reports it, and the output's tail (the checkout's temporary path reads `<checkout>`). Its
 * verdict is final: an agent never overrules a failing run. Coverage below the repository's `coverage_threshold`
 * fails the gate with a finding.
 */
import type { SandboxMode } from '../workspace/sandbox.js';
import type { GateVerdict } from '../workflow/workflow-steps.js';
import { outputTail, runInCheckout } from './checkout-command.js';
import { parseCoverage } from './coverage.js';
import { parseFailingTests, type FailingTest } from './failing-tests.js';
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
  /** Fail the gate when the reported total coverage is below this percentage. */
  coverageThreshold?: number | undefined;
  signal?: AbortSignal;
}

export interface TestGateResult {
  command: string;
  /** The commit tested. */
  commit: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  counts: TestCounts | null;
  /** The failing tests' names and first message lines, as the output reports them. */
  failures: FailingTest[];
  /** Total coverage percentage, when the output reports one. */
  coverage: number | null;
  coverageThreshold: number | null;
  /** The last lines of stdout and stderr together. */
  outputTail: string;
  durationMs: number;
}

export async function runTestGate(options: TestGateOptions): Promise<TestGateResult> {
  const run = await runInCheckout({
    repoPath: options.repoPath,
    ref: options.ref,
    command: options.command,
    mode: options.mode,
    timeoutMs: options.timeoutMs,
    env: options.env,
    network: false,
    ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
    ...(options.hiddenPaths ? { hiddenPaths: options.hiddenPaths } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const counts = parseTestCounts(run.output);
  const failures =
    run.exitCode === 0 && !run.timedOut && (counts?.failed ?? 0) === 0 ? [] : parseFailingTests(run.output);
  const coverage = parseCoverage(run.output)?.percent ?? null;
  const threshold = options.coverageThreshold ?? null;
  const coverageOk = threshold === null || coverage === null || coverage >= threshold;
  const passed = run.exitCode === 0 && !run.timedOut && (counts?.failed ?? 0) === 0 && coverageOk;
  return {
    command: run.command,
    commit: run.commit,
    passed,
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    counts,
    failures,
    coverage,
    coverageThreshold: threshold,
    outputTail: outputTail(run.output),
    durationMs: run.durationMs,
  };
}

/** How many failing tests a verdict names one by one; the rest are counted. */
export const MAX_LISTED_FAILURES = 20;
/** How many of the output's last lines follow them. */
export const VERDICT_TAIL_LINES = 20;

/**
 * The gate verdict of a test run, for the builder: first one finding per failing test (`tests: <name>: <message>`),
 * then the run's counts with a short tail of its output.
 */
export function testGateVerdict(result: TestGateResult): GateVerdict {
  if (result.passed) return { passed: true, findings: [] };
  const findings: string[] = [];
  const testsFailed = result.exitCode !== 0 || result.timedOut || (result.counts?.failed ?? 0) > 0;
  if (testsFailed) {
    const what = result.timedOut
      ? `timed out after ${Math.round(result.durationMs / 1000)}s`
      : result.counts
        ? `${result.counts.failed} failed, ${result.counts.passed} passed (exit ${String(result.exitCode)})`
        : `exit code ${String(result.exitCode)}`;
    for (const failure of result.failures.slice(0, MAX_LISTED_FAILURES)) {
      findings.push(`tests: ${failure.name}${failure.message ? `: ${failure.message}` : ''}`);
    }
    if (result.failures.length > MAX_LISTED_FAILURES) {
      findings.push(`tests: and ${result.failures.length - MAX_LISTED_FAILURES} more failing test(s)`);
    }
    const tail = result.outputTail.split('\n').slice(-VERDICT_TAIL_LINES).join('\n');
    findings.push(`tests: "${result.command}" ${what}\n${tail}`);
  }
  if (result.coverage !== null && result.coverageThreshold !== null && result.coverage < result.coverageThreshold) {
    findings.push(
      `tests: coverage ${result.coverage}% is below the repository's threshold of ${result.coverageThreshold}% ` +
        `("${result.command}")`,
    );
  }
  return { passed: false, findings };
}
