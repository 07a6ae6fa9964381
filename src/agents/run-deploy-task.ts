/**
 * @module The DevOps `deploy` task, deterministic: no LLM session (cheaper, and a deployment should do exactly what
 * the repository's `deploy_command` says). The command runs on the merged commit in a sandboxed throwaway checkout
 * with network and only the secrets the repository's settings name, read from the secret store; the result records command, exit code, duration,
 * masked output tail and outcome. No deploy command is a completed no-op whose summary says so plainly. A failed
 * deployment completes the task with `outcome: failed` (not retried: a half-done deployment wants a human), and the
 * workflow waits for one.
 */
import type { HandlerOutcome, TaskContext } from '../queue/run-worker.js';
import type { Task } from '../queue/task-record.js';
import { repositorySettings } from '../forge/repositories.js';
import { runDeploy, type DeployRecord } from '../gates/deploy-command.js';
import { onWorkflowTaskCompleted } from '../workflow/advance-workflow.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import { cleanStoryWorkspaces } from './clean-story-workspaces.js';
import { taskRepository } from './task-repository.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';
import { hiddenPathsFor } from './sandbox-policy.js';
import { environmentProvider } from '../secrets/environment-provider.js';
import { SecretMasker } from '../secrets/secret-masker.js';
import { SecretStore } from '../secrets/secret-store.js';

/**
 * The deploy command's environment: Auto-Dev's own, but each deploy secret `NAME` taken from the secret store (the
 * secret `<prefix>/NAME`; with the environment provider, the variable `NAME` itself), read through `readSecret` so
 * its value is masked from then on. A secret the store lacks is missing, whatever the environment holds.
 */
async function deployEnvironment(
  deps: AgentRuntimeDeps,
  secretNames: readonly string[],
): Promise<Record<string, string | undefined>> {
  const store = deps.secrets ?? defaultSecretStore(deps);
  const env: Record<string, string | undefined> = { ...deps.env };
  for (const name of secretNames) delete env[name];
  return { ...env, ...(await store.readSecrets(secretNames)) };
}

/** No store given (tests, the demo): the environment provider over `deps.env`. */
function defaultSecretStore(deps: AgentRuntimeDeps): SecretStore {
  const settings = deps.settings.secrets;
  const provider = environmentProvider({ prefix: settings.prefix, env: deps.env, knownNames: [] });
  return new SecretStore(provider, settings.prefix, new SecretMasker());
}

export async function runDeployTask(deps: AgentRuntimeDeps, task: Task, context: TaskContext): Promise<HandlerOutcome> {
  // This process's working copy, with the default branch as the forge merged it.
  const repo = task.repoId === null ? undefined : await taskRepository(deps, task.repoId);
  const payload = task.payload as { sha?: unknown };
  let record: DeployRecord;
  if (!repo) {
    record = {
      outcome: 'skipped',
      summary: 'the task names no registered repository; nothing was deployed',
      command: null,
      commit: null,
      exit_code: null,
      timed_out: false,
      duration_ms: 0,
      output_tail: '',
      secrets_passed: [],
      secrets_missing: [],
    };
  } else {
    const secretNames = repositorySettings(repo).deploy_secrets ?? [];
    record = await runDeploy({
      repoName: repo.name,
      repoPath: repo.location,
      ref: typeof payload.sha === 'string' && payload.sha ? payload.sha : repo.default_branch,
      command: repo.deploy_command,
      secretNames,
      mode: deps.settings.sandbox.mode,
      timeoutMs: deps.settings.watcher.max_session_duration * 1000,
      env: await deployEnvironment(deps, secretNames),
      hiddenPaths: hiddenPathsFor(deps),
      ...(deps.bwrapPath ? { bwrapPath: deps.bwrapPath } : {}),
      signal: context.signal,
    });
  }
  if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
  // The story is merged: its checkouts and fully merged branches go; unmerged work stays, and the result says where.
  const cleanup =
    repo && task.workflowId !== null ? await cleanStoryWorkspaces(deps, task.workflowId, repo) : undefined;
  const result = {
    status: 'done',
    summary: record.summary,
    environment: 'default',
    outcome: record.outcome,
    ...(record.commit ? { version: record.commit } : {}),
    steps: record.command ? [{ command: record.command, ok: record.outcome === 'succeeded' }] : [],
    rollback:
      record.outcome === 'skipped'
        ? 'nothing to roll back: nothing was deployed'
        : 'revert the merge commit on the default branch and deploy again',
    deterministic: true,
    deploy: record,
    ...(cleanup ? { cleanup } : {}),
  };
  if (record.outcome === 'failed') deps.logger.warn({ task: task.id, summary: record.summary }, 'deployment failed');
  return {
    result,
    onComplete: async (tx) => {
      const workflow = workflowDeps(deps.queue, deps.settings.workflow.max_fix_rounds, deps.dataDir);
      await onWorkflowTaskCompleted(tx, workflow, task, result, context.holder.workerId);
    },
  };
}
