/**
 * @module The `merge` task, deterministic (no LLM session): the approved merge carried out through the repository's
 * forge client (`workflow/merge-step.ts`), its outcome recorded in the transaction that completes the task. After a
 * merge in GitLab/GitHub the clone's default branch and checkout are brought up to the forge's (before that
 * transaction: a product's check reads its files there); a failed fetch fails the attempt, and the retry finds the
 * merge already made (`recovered`).
 */
import { findRepositoryById } from '../forge/repositories.js';
import { refreshDefaultBranchFromRemote } from '../forge/refresh-from-remote.js';
import type { HandlerOutcome, TaskContext } from '../queue/run-worker.js';
import type { Task } from '../queue/task-record.js';
import { carryOutMerge } from '../workflow/merge-step.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';

export async function runMergeTask(deps: AgentRuntimeDeps, task: Task, context: TaskContext): Promise<HandlerOutcome> {
  const workflow = workflowDeps(deps.queue, deps.settings.workflow.max_fix_rounds);
  const forgeContext = { dataDir: deps.dataDir, env: deps.env };
  const step = await carryOutMerge(workflow, forgeContext, task, context.holder.workerId);
  if (step.result.outcome === 'merged' && task.repoId !== null) {
    const repo = await findRepositoryById(deps.queue.handle.db, task.repoId);
    await refreshDefaultBranchFromRemote(repo, forgeContext, { checkout: true });
  }
  if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
  const { onComplete } = step;
  return { result: step.result, ...(onComplete ? { onComplete: (tx) => onComplete(tx) } : {}) };
}
