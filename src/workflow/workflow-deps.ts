/**
 * @module The workflow's dependencies as every entry point builds them (agent runtime, CLI, API): the queue, the
 * fix-round limit from settings, the local forge for merge requests and merges, and the deterministic gates.
 */
import { LocalForge } from '../forge/local-forge.js';
import { deterministicGateVerdict } from '../gates/deterministic-gates.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { WorkflowDeps } from './advance-workflow.js';

export function workflowDeps(queue: TaskQueue, maxFixRounds: number): WorkflowDeps {
  return { queue, maxFixRounds, forge: new LocalForge(), deterministicGate: deterministicGateVerdict };
}
