/**
 * @module The task types that run no LLM session, by type, beside the agent handler: `merge` (the approved merge
 * through the forge), `deploy` (the repository's deploy command), `create_project_repo` and `publish_product` (an
 * approved product's repository and its publishing: `run-product-tasks.ts`). The agent handler hands such a task here.
 */
import type { TaskType } from '../domain/roles.js';
import type { HandlerOutcome, TaskContext } from '../queue/run-worker.js';
import type { Task } from '../queue/task-record.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';
import { runDeployTask } from './run-deploy-task.js';
import { runMergeTask } from './run-merge-task.js';
import { runCreateProjectRepoTask, runPublishProductTask } from './run-product-tasks.js';

export type DeterministicHandler = (
  deps: AgentRuntimeDeps,
  task: Task,
  context: TaskContext,
) => Promise<HandlerOutcome>;

const DETERMINISTIC_HANDLERS: Partial<Record<TaskType, DeterministicHandler>> = {
  merge: runMergeTask,
  deploy: runDeployTask,
  create_project_repo: runCreateProjectRepoTask,
  publish_product: runPublishProductTask,
};

/** The handler of a deterministic task type, or undefined for the types an agent session handles. */
export function deterministicHandlerFor(type: string): DeterministicHandler | undefined {
  return Object.hasOwn(DETERMINISTIC_HANDLERS, type) ? DETERMINISTIC_HANDLERS[type as TaskType] : undefined;
}
