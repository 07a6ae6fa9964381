/**
 * @module What a human does to a task from the CLI, API or dashboard: cancel it, or retry a dead one by hand.
 * Each checks the task's state in the same statement that changes it, so a race with a worker cannot slip through.
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import type { Database } from '../store/schema.js';
import { toTask, type Task } from './task-record.js';

async function existingStatus(db: Kysely<Database>, id: number): Promise<string> {
  const row = await db.selectFrom('tasks').select('status').where('id', '=', id).executeTakeFirst();
  if (!row) throw new AutodevError('TASK_NOT_FOUND', `task ${id} does not exist; "autodev tasks list" shows the ids`);
  return row.status;
}

/** Cancels a pending or in-progress task. A worker holding it loses its lease at its next heartbeat. */
export async function cancelTask(
  db: Kysely<Database>,
  id: number,
  request: { actor: string; now: number; reason?: string },
): Promise<Task> {
  const row = await db
    .updateTable('tasks')
    .set({
      status: 'cancelled',
      lease_owner: null,
      lease_expires_at: null,
      error: request.reason ?? `cancelled by ${request.actor}`,
      finished_at: request.now,
      updated_at: request.now,
    })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'in_progress'])
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const status = await existingStatus(db, id);
    throw new AutodevError(
      'TASK_NOT_CANCELLABLE',
      `task ${id} is ${status}; only pending or in-progress tasks can be cancelled`,
    );
  }
  await recordEvent(db, {
    kind: 'task.cancelled',
    subjectType: 'task',
    subjectId: id,
    actor: request.actor,
    data: { status: 'cancelled', reason: request.reason ?? null },
    now: request.now,
  });
  return toTask(row);
}

/** Puts a failed or cancelled task back on the queue with a fresh set of attempts. */
export async function retryTask(
  db: Kysely<Database>,
  id: number,
  request: { actor: string; now: number },
): Promise<Task> {
  const row = await db
    .updateTable('tasks')
    .set({
      status: 'pending',
      attempts: 0,
      error: null,
      result: null,
      run_after: request.now,
      finished_at: null,
      updated_at: request.now,
    })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'cancelled'])
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const status = await existingStatus(db, id);
    throw new AutodevError(
      'TASK_NOT_RETRYABLE',
      `task ${id} is ${status}; only failed or cancelled tasks can be retried`,
    );
  }
  await recordEvent(db, {
    kind: 'task.retried',
    subjectType: 'task',
    subjectId: id,
    actor: request.actor,
    data: { status: 'pending' },
    now: request.now,
  });
  return toTask(row);
}
