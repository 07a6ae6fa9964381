/**
 * @module Reading tasks: one by id, a filtered page (newest first, keyset cursor on id), and counts by status (from
 * the counters of task-counts.ts).
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import type { TaskStatus } from '../domain/roles.js';
import type { Database } from '../store/schema.js';
import { toTask, type Task } from './task-record.js';

export async function getTask(db: Kysely<Database>, id: number): Promise<Task> {
  const row = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AutodevError('TASK_NOT_FOUND', `task ${id} does not exist; "autodev tasks list" shows the ids`);
  return toTask(row);
}

export interface TaskFilter {
  status?: TaskStatus | undefined;
  type?: string | undefined;
  /** Any of these types (a role's). */
  types?: readonly string[] | undefined;
  workflowId?: number | undefined;
  /** Page size, 1..500. */
  limit?: number | undefined;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | undefined;
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export const MAX_PAGE_SIZE = 500;

/** A keyset cursor: the last id of a page, tagged with what it pages (`t` tasks, `s` stories) so lists never mix. */
export function encodeCursor(id: number, kind: 't' | 's' = 't'): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string, kind: 't' | 's' = 't'): number {
  // An id the database can compare (canonical digits, at most 2^53 - 1), whatever the cursor's text says.
  const text = cursor.length <= 200 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = text.startsWith(`${kind}:`) ? /^[ts]:([1-9]\d{0,15})$/.exec(text) : null;
  if (!match || !Number.isSafeInteger(Number(match[1])))
    throw new AutodevError('INVALID_CURSOR', 'cursor is not one this server produced; start from the first page');
  return Number(match[1]);
}

/**
 * Newest first; pass `nextCursor` back to get the following page. On PostgreSQL a status filter reads the partial
 * index of its status (`tasks_ready_idx`, `tasks_lease_idx`, `tasks_rare_status_idx`) or, for `completed` (the bulk
 * of the table), the primary key newest-first; a type filter reads `(type, id)`. SQLite reads `(status, id)`.
 * test/queue/list-plan.test.ts checks these plans.
 */
export async function listTasks(db: Kysely<Database>, filter: TaskFilter = {}): Promise<TaskPage> {
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `limit must be a whole number from 1 to ${MAX_PAGE_SIZE} (got ${limit})`,
    );
  }
  const rows = await listTasksQuery(db, filter, limit).execute();
  const page = rows.slice(0, limit).map(toTask);
  const last = page.at(-1);
  return { tasks: page, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}

/** The query of one page (`limit + 1` rows, to tell whether another page follows); exported for plan tests. */
export function listTasksQuery(db: Kysely<Database>, filter: TaskFilter, limit: number) {
  let query = db
    .selectFrom('tasks')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (filter.types) query = query.where('type', 'in', [...filter.types]);
  if (filter.workflowId !== undefined) query = query.where('workflow_id', '=', filter.workflowId);
  if (filter.cursor) query = query.where('id', '<', decodeCursor(filter.cursor));
  return query;
}

/** The counts come from the counters (task-counts.ts), not from a pass over this table. */
export { countTasksByStatus, countTasksQuery } from './task-counts.js';
