/**
 * @module The task list's extras for one page of tasks (`domain/task-list-schema.ts`): the story and its title, the
 * role, the provider of the latest session, duration, cost and tokens. Two queries per page, whatever its size.
 */
import type { Kysely } from 'kysely';
import { isTaskType, roleForTaskType } from '../domain/roles.js';
import type { TaskListExtras } from '../domain/task-list-schema.js';
import type { Database } from '../store/schema.js';

interface TaskLike {
  id: number;
  type: string;
  workflowId: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export async function taskListDetails(
  db: Kysely<Database>,
  tasks: readonly TaskLike[],
  now: number,
): Promise<Map<number, TaskListExtras>> {
  const storyIds = [...new Set(tasks.map((t) => t.workflowId).filter((id): id is number => id !== null))];
  const stories = storyIds.length
    ? await db.selectFrom('workflows').select(['id', 'title']).where('id', 'in', storyIds).execute()
    : [];
  const titleOf = new Map(stories.map((s) => [s.id, s.title]));
  const sessions = tasks.length
    ? await db
        .selectFrom('sessions')
        .select(['task_id', 'provider', 'cost_usd', 'tokens_in', 'tokens_out'])
        .where(
          'task_id',
          'in',
          tasks.map((t) => t.id),
        )
        .orderBy('id')
        .execute()
    : [];
  const details = new Map<number, TaskListExtras>();
  for (const task of tasks) {
    const own = sessions.filter((s) => s.task_id === task.id);
    details.set(task.id, {
      story: task.workflowId !== null ? { id: task.workflowId, title: titleOf.get(task.workflowId) ?? '' } : null,
      role: isTaskType(task.type) ? roleForTaskType(task.type) : null,
      provider: own.at(-1)?.provider ?? null,
      duration_ms: task.startedAt === null ? null : (task.finishedAt ?? now) - task.startedAt,
      cost_usd: own.reduce((sum, s) => sum + s.cost_usd, 0),
      tokens: own.reduce((sum, s) => sum + s.tokens_in + s.tokens_out, 0),
    });
  }
  return details;
}
