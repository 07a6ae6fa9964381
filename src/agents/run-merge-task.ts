/**
 * @module The `merge` task, deterministic (no LLM session): the approved merge carried out through the repository's
 * forge client (`workflow/merge-step.ts`), its outcome recorded in the transaction that completes the task. After a
 * merge in GitLab/GitHub the clone's default branch and checkout are brought up to the forge's (before that
 * transaction: a product's check reads its files there); a failed fetch fails the attempt, and the retry finds the
 * merge already made (`recovered`).
 */
import { findRepositoryById } from '../forge/repositories.js';
import { syncWorkingCopy } from '../forge/working-copy.js';
import type { HandlerOutcome, TaskContext } from '../queue/run-worker.js';
import type { Task } from '../queue/task-record.js';
import { carryOutMerge } from '../workflow/merge-step.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';
import { taskRepository } from './task-repository.js';

export async function runMergeTask(deps: AgentRuntimeDeps, task: Task, context: TaskContext): Promise<HandlerOutcome> {
  // The task branch and the default branch as the forge has them, in this process's working copy (maybe a fresh
  // clone: the merge may run on another disk than the sessions did).
  if (task.repoId !== null) await taskRepository(deps, task.repoId);
  const workflow = workflowDeps(deps.queue, deps.settings.workflow.max_fix_rounds, deps.dataDir);
  const forgeContext = { dataDir: deps.dataDir, env: deps.env };
  const step = await carryOutMerge(workflow, forgeContext, task, context.holder.workerId);
  if (step.result.outcome === 'merged' && task.repoId !== null) {
    // Merged in the forge: the working copy's default branch and files become the forge's (a product's check reads
    // them from its checkout).
    await syncWorkingCopy(await findRepositoryById(deps.queue.handle.db, task.repoId), forgeContext, {
      checkout: true,
    });
  }
  if (context.signal.aborted) throw context.signal.reason ?? new Error('aborted');
  const { onComplete } = step;
  return { result: step.result, ...(onComplete ? { onComplete: (tx) => onComplete(tx) } : {}) };
}
