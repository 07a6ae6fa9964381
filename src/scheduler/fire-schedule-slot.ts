/**
 * @module Fires one slot of one schedule, at most once however many schedulers try: the insert of the unique
 * `schedule_runs (schedule_name, slot_at)` row decides, and the slot's tasks are enqueued in the same transaction
 * (each with a dedupe key naming schedule, slot and repository). A scheduler that loses the insert writes nothing.
 */
import type { Kysely } from 'kysely';
import type { ScheduledTaskType } from '../config/settings-schema.js';
import { recordEvent } from '../events/record-event.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';

export interface ScheduleDefinition {
  name: string;
  cron: string;
  taskType: ScheduledTaskType;
  perRepository: boolean;
  /** Only this repository (by name); undefined: every registered one. */
  repository?: string | undefined;
  payload?: Record<string, unknown> | undefined;
  priority: number;
  timezone: string;
}

export type SlotOutcome = { fired: true; taskIds: number[] } | { fired: false };

export function scheduleActor(name: string): string {
  return `scheduler:${name}`;
}

export async function fireScheduleSlot(
  queue: TaskQueue,
  schedule: ScheduleDefinition,
  slotAt: number,
  firedBy: string,
): Promise<SlotOutcome> {
  return inTransaction(queue.handle.db, async (tx) => {
    const now = queue.clock();
    const run = await tx
      .insertInto('schedule_runs')
      .values({ schedule_name: schedule.name, slot_at: slotAt, fired_by: firedBy, task_ids: '[]', created_at: now })
      .onConflict((conflict) => conflict.columns(['schedule_name', 'slot_at']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!run) return { fired: false };
    const taskIds: number[] = [];
    for (const repoId of await targetRepositories(tx, schedule)) {
      const { task } = await queue.enqueueOnce(
        {
          type: schedule.taskType,
          priority: schedule.priority,
          payload: { ...schedule.payload, schedule: schedule.name, slot_at: new Date(slotAt).toISOString() },
          repoId,
          createdBy: scheduleActor(schedule.name),
          dedupeKey: `schedule:${schedule.name}:${slotAt}:${repoId ?? 'all'}`,
        },
        tx,
      );
      taskIds.push(task.id);
    }
    await tx
      .updateTable('schedule_runs')
      .set({ task_ids: JSON.stringify(taskIds) })
      .where('id', '=', run.id)
      .execute();
    await recordEvent(tx, {
      kind: 'schedule.fired',
      subjectType: 'schedule',
      subjectId: schedule.name,
      actor: scheduleActor(schedule.name),
      data: { slot_at: slotAt, task_type: schedule.taskType, task_ids: taskIds, fired_by: firedBy },
      now,
    });
    return { fired: true, taskIds };
  });
}

/**
 * Per repository: every registered one, or only `repository` (none registered or not found: no task, the slot still
 * counts as fired); else one task without a repository.
 */
async function targetRepositories(tx: Kysely<Database>, schedule: ScheduleDefinition): Promise<(number | null)[]> {
  if (!schedule.perRepository) return [null];
  let query = tx.selectFrom('repositories').select('id').orderBy('id');
  if (schedule.repository !== undefined) query = query.where('name', '=', schedule.repository);
  return (await query.execute()).map((row) => row.id);
}
