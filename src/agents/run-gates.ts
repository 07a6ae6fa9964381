/**
 * @module The deterministic gates of a task, run by its role's handler BEFORE the completing transaction (a test run
 * takes minutes and must not hold it): the tester's run of the repository's test command (counts, coverage against
 * the repository's threshold, output tail) and, on a GitLab/GitHub repository, the pushed head's pipeline, the security role's secret scan of every commit the branch would bring
 * (a secret only in its history passes with a squash reason for the merge), the reviewer's lint command. Each returns
 * what ran (stored in the task's result under `gates`, for the dashboard's merge request view) and, when it decides,
 * the gate's verdict the workflow uses over the agent's.
 */
import type { Kysely } from 'kysely';
import type { ForgeClientContext } from '../forge/forge-client.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import { workingCopyPath } from '../forge/working-copy.js';
import { repositorySettings, type RepositoryRow } from '../forge/repositories.js';
import { lintGateVerdict, runLintGate } from '../gates/lint-gate.js';
import {
  DEFAULT_PIPELINE_APPEAR_MS,
  DEFAULT_PIPELINE_POLL_MS,
  combineVerdicts,
  pipelineGateVerdict,
  waitForPipeline,
} from '../gates/pipeline-gate.js';
import { scanBranchForSecrets, squashReasonFor } from '../gates/secret-scan.js';
import { runTestGate, testGateVerdict } from '../gates/test-gate.js';
import type { Task } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import type { SandboxMode } from '../workspace/sandbox.js';
import type { GateVerdict } from '../workflow/workflow-steps.js';

export interface GateRunDeps {
  db: Kysely<Database>;
  sandboxMode: SandboxMode;
  /** The environment commands start from (scrubbed to the sandbox's allowlist). */
  env: Readonly<Record<string, string | undefined>>;
  /** Hidden inside the sandbox: the data dir and credential stores, as the agent runtime computes them. */
  hiddenPaths: readonly string[];
  bwrapPath?: string | undefined;
  /** A test or lint command running longer is killed (and fails its gate). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /**
   * The forge clients' context: on a GitLab/GitHub repository the tests gate pushes the head and waits for its
   * pipeline (at most `pipelineTimeoutMs`, default `timeoutMs`). Without it the gates read only the local clone.
   */
  forge?: GateForgeContext | undefined;
}

export interface GateForgeContext {
  context: ForgeClientContext;
  pipelineTimeoutMs?: number;
  pipelineAppearMs?: number;
  pipelinePollMs?: number;
}

export interface GateRun {
  /** The gate's verdict when the deterministic check decides it (a test run always; a scan or lint when it fails). */
  verdict?: GateVerdict;
  /** What ran, for the task's result (`result.gates`). */
  record: Record<string, unknown>;
}

/** The ref a gate checks: the branch named by the task (the builder's), else the repository's default branch. */
function refOf(task: Task, repo: RepositoryRow): string {
  const payload = task.payload as { branch?: unknown; ref?: unknown };
  if (typeof payload.ref === 'string' && payload.ref.trim()) return payload.ref;
  if (typeof payload.branch === 'string' && payload.branch.trim()) return payload.branch;
  return repo.default_branch;
}

/** Runs the deterministic gate of `task`, if its type has one and its repository configures it. */
export async function runTaskGates(deps: GateRunDeps, task: Task): Promise<GateRun | undefined> {
  if (task.repoId === null) return undefined;
  if (task.type !== 'run_tests' && task.type !== 'security_scan' && task.type !== 'review_mr') return undefined;
  const row = await deps.db.selectFrom('repositories').selectAll().where('id', '=', task.repoId).executeTakeFirst();
  if (!row) return undefined;
  // The working copy the session's checkout came from (this process's own clone when the registered one is elsewhere).
  const repo = deps.forge ? { ...row, location: workingCopyPath(row, deps.forge.context.dataDir) } : row;
  const ref = refOf(task, repo);
  const sandbox = {
    repoPath: repo.location,
    ref,
    mode: deps.sandboxMode,
    timeoutMs: deps.timeoutMs,
    env: deps.env,
    hiddenPaths: deps.hiddenPaths,
    ...(deps.bwrapPath ? { bwrapPath: deps.bwrapPath } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  };

  if (task.type === 'run_tests') {
    // On a remote forge the head is pushed first, so its pipeline runs while the local command does.
    const forge = deps.forge && repo.forge !== 'local' && ref !== repo.default_branch ? deps.forge : undefined;
    const client = forge ? forgeClientFor(repo, forge.context) : undefined;
    const pushed = client ? await client.pushBranch(ref) : undefined;
    if (!repo.test_command && !pushed) return undefined;
    const run = repo.test_command
      ? await runTestGate({
          ...sandbox,
          command: repo.test_command,
          coverageThreshold: repositorySettings(repo).coverage_threshold,
        })
      : undefined;
    const pipeline =
      client && pushed
        ? await waitForPipeline(client, pushed.sha, {
            timeoutMs: forge?.pipelineTimeoutMs ?? deps.timeoutMs,
            appearMs: forge?.pipelineAppearMs ?? DEFAULT_PIPELINE_APPEAR_MS,
            pollMs: forge?.pipelinePollMs ?? DEFAULT_PIPELINE_POLL_MS,
            signal: deps.signal,
          })
        : undefined;
    const verdict = combineVerdicts(run && testGateVerdict(run), pipeline && pipelineGateVerdict(pipeline));
    return {
      ...(verdict ? { verdict } : {}),
      record: {
        ...(run
          ? {
              tests: {
                command: run.command,
                ref,
                commit: run.commit,
                passed: run.passed,
                exit_code: run.exitCode,
                timed_out: run.timedOut,
                counts: run.counts,
                failures: run.failures,
                coverage: run.coverage,
                coverage_threshold: run.coverageThreshold,
                output_tail: run.outputTail,
                duration_ms: run.durationMs,
              },
            }
          : {}),
        ...(pipeline ? { pipeline } : {}),
      },
    };
  }

  if (task.type === 'security_scan') {
    if (ref === repo.default_branch) return undefined;
    const started = Date.now();
    const scan = await scanBranchForSecrets(repo.location, repo.default_branch, ref);
    const squash = squashReasonFor(scan);
    const record = {
      secret_scan: {
        scanner: 'secretlint (preset-recommend, AWS access key id rule on)',
        ref,
        base: repo.default_branch,
        commit: scan.head,
        commits_scanned: scan.commits,
        passed: scan.atHead.length === 0,
        findings: scan.atHead,
        history_findings: scan.inHistory,
        squash: squash ?? null,
        duration_ms: Date.now() - started,
      },
    };
    if (squash) return { verdict: { passed: true, findings: [], squash }, record };
    if (scan.atHead.length === 0) return { record };
    return {
      verdict: {
        passed: false,
        findings: scan.atHead.map(
          (f) =>
            `security: [secret] ${f.file}:${f.line} ${f.rule}: ${f.message}` +
            `${f.commit ? ` (since commit ${f.commit.slice(0, 12)})` : ''} (remove it and rotate the credential)`,
        ),
      },
      record,
    };
  }

  if (!repo.lint_command) return undefined;
  const lint = await runLintGate({ ...sandbox, command: repo.lint_command });
  const verdict = lintGateVerdict(lint);
  return {
    ...(verdict ? { verdict } : {}),
    record: {
      lint: {
        command: lint.command,
        ref,
        commit: lint.commit,
        passed: lint.passed,
        exit_code: lint.exitCode,
        timed_out: lint.timedOut,
        output_tail: lint.outputTail,
        duration_ms: lint.durationMs,
      },
    },
  };
}
