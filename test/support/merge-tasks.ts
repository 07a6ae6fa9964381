/**
 * @module Runs the pending deterministic `merge` tasks the way the devops worker does (`workflow/merge-step.ts`: the
 * forge client's merge outside any transaction, the outcome recorded in the completing one), for tests that drive a
 * story by hand instead of running workers. Returns the results.
 */
import os from 'node:os';
import type { ForgeClientContext } from '../../src/forge/forge-client.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import type { WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { carryOutMerge, type MergeStepResult } from '../../src/workflow/merge-step.js';

export async function runMergeTasks(
  queue: TaskQueue,
  deps: WorkflowDeps,
  context: ForgeClientContext = { dataDir: os.tmpdir(), env: {} },
  workerId = 'merge-step',
): Promise<MergeStepResult[]> {
  const results: MergeStepResult[] = [];
  for (;;) {
    const task = await queue.claim(workerId, ['merge']);
    if (!task) return results;
    const step = await carryOutMerge(deps, context, task, workerId);
    await queue.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId }, step.result, tx);
      await step.onComplete?.(tx);
    });
    results.push(step.result);
  }
}
