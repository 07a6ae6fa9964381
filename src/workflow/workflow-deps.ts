/**
 * @module The workflow's dependencies as every entry point builds them (agent runtime, CLI, API): the queue, the
 * fix-round limit from settings, and the local forge for merge requests and merges. The deterministic gates (test run,
 * secret scan, lint) are not here: they run before the completing transaction (`agents/run-gates.ts`) and reach the
 * workflow as the completion's verdict.
 */
import { LocalForge } from '../forge/local-forge.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { WorkflowDeps } from './advance-workflow.js';

export function workflowDeps(queue: TaskQueue, maxFixRounds: number): WorkflowDeps {
  return { queue, maxFixRounds, forge: new LocalForge() };
}
