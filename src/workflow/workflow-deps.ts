/**
 * @module The workflow's dependencies as every entry point builds them (agent runtime, CLI, API): the queue and the
 * fix-round limit from settings. An approved merge is the deterministic `merge` task (`merge-step.ts`), which reaches
 * the repository's forge client outside any transaction. The deterministic gates (test run, secret scan, lint) are not
 * here: they run before the completing transaction (`agents/run-gates.ts`) and reach the workflow as the completion's
 * verdict.
 */
import type { TaskQueue } from '../queue/task-queue.js';
import type { WorkflowDeps } from './advance-workflow.js';

export function workflowDeps(queue: TaskQueue, maxFixRounds: number, dataDir?: string): WorkflowDeps {
  return { queue, maxFixRounds, ...(dataDir === undefined ? {} : { dataDir }) };
}
