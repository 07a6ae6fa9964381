/**
 * @module Runs one pending deterministic DevOps task (create_project_repo, publish_product, merge, deploy: no
 * session) through the real worker loop and the agent runtime's handler, with the supervisor's dead-letter hook (a
 * task out of attempts moves its workflow on); returns how the attempt ended.
 */
import { agentDeadLetterHook } from '../../src/agents/agent-supervisor.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { runWorker } from '../../src/queue/run-worker.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';

export async function runDevopsTask(queue: TaskQueue, runtime: AgentRuntimeDeps, type: string): Promise<string> {
  const stop = new AbortController();
  let settled!: (outcome: string) => void;
  const ended = new Promise<string>((resolve) => (settled = resolve));
  const loop = runWorker({
    queue,
    workerId: 'devops-1',
    types: [type],
    signal: stop.signal,
    idleWaitMs: 20,
    handler: createAgentTaskHandler(runtime, 'devops'),
    onDeadLetter: agentDeadLetterHook(runtime, 'devops-1'),
    onTaskEnd: (_task, outcome) => settled(outcome),
  });
  const outcome = await ended;
  stop.abort();
  await loop;
  return outcome;
}
