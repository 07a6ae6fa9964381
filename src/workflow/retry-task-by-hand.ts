/**
 * @module A human's `tasks retry` (CLI, API, dashboard), with the task's story in mind. A task of a story that
 * stopped for a human is not retried behind the story's back: the story would not take its completion, so the story
 * would stay stopped. The refusal (TASK_NOT_RETRYABLE) names `stories resume`, which runs the stopped task again and
 * moves the story on. Any other failed or cancelled task: the queue's retry.
 */
import { AutodevError } from '../errors.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { Task } from '../queue/task-record.js';
import { getTask } from '../queue/read-tasks.js';
import { inTransaction } from '../store/in-transaction.js';

export function retryTaskByHand(queue: TaskQueue, id: number, actor: string): Promise<Task> {
  return inTransaction(queue.handle.db, async (tx) => {
    const task = await getTask(tx, id);
    const story = task.workflowId;
    if (story !== null) {
      const row = await tx.selectFrom('workflows').select('status').where('id', '=', story).executeTakeFirst();
      if (row?.status === 'waiting_for_human') {
        throw new AutodevError(
          'TASK_NOT_RETRYABLE',
          `task ${id} belongs to story ${story}, which is waiting for a human; ` +
            `"autodev stories resume ${story}" (POST /api/stories/${story}/resume) runs it again and moves the story on`,
        );
      }
    }
    return queue.retry(id, actor, tx);
  });
}
