/**
 * @module The lease rule every worker-side change obeys: only the worker named as `lease_owner` of an in-progress
 * task may change it (a lease that expired but was not yet reclaimed still counts). A worker that lost its lease (expired and reclaimed, or cancelled by a human)
 * gets LEASE_LOST and must stop working on the task.
 */
import type { UpdateQueryBuilder, UpdateResult } from 'kysely';
import { AutodevError } from '../errors.js';
import type { Database } from '../store/schema.js';

export interface LeaseHolder {
  taskId: number;
  workerId: string;
}

type TaskUpdate = UpdateQueryBuilder<Database, 'tasks', 'tasks', UpdateResult>;

/** Narrows an update of `tasks` to the row this worker holds. */
export function heldBy(update: TaskUpdate, holder: LeaseHolder): TaskUpdate {
  return update
    .where('id', '=', holder.taskId)
    .where('lease_owner', '=', holder.workerId)
    .where('status', '=', 'in_progress');
}

export function leaseLost(holder: LeaseHolder): AutodevError {
  return new AutodevError(
    'LEASE_LOST',
    `worker ${holder.workerId} no longer holds task ${holder.taskId} (lease expired, or the task was cancelled)`,
  );
}
