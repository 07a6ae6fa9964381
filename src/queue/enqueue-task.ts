/**
 * @module Puts a new task on the queue. Validates what a user can get wrong (type, priority, payload) and writes the
 * task and its `task.created` event; the caller's transaction, if any, makes both part of a larger change.
 */
import type { Kysely } from 'kysely';
import { jsonLimitProblem, MAX_ATTEMPTS_LIMIT, PAYLOAD_LIMITS } from '../domain/input-policy.js';
import { isTaskType, type TaskType } from '../domain/roles.js';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import type { Database } from '../store/schema.js';
import { toTask, type JsonObject, type Task } from './task-record.js';

export interface NewTask {
  type: string;
  priority?: number;
  payload?: unknown;
  /** Not before this time (ms since epoch); defaults to now. */
  runAfter?: number;
  maxAttempts?: number;
  parentId?: number | null;
  workflowId?: number | null;
  repoId?: number | null;
  createdBy: string;
  /**
   * At most one task ever has this key: enqueuing again returns the existing task, whatever its status (a webhook
   * redelivered, a schedule slot fired by two schedulers). Up to 200 characters.
   */
  dedupeKey?: string | undefined;
}

/** The longest dedupe key accepted. */
export const MAX_DEDUPE_KEY_CHARS = 200;

/** A task enqueued with a dedupe key, and whether this call created it (false: it existed). */
export interface EnqueuedTask {
  task: Task;
  created: boolean;
}

export const DEFAULT_PRIORITY = 5;

/** Checks a new task's user-supplied fields; throws the documented error for the first one that is wrong. */
export function validateNewTask(input: Pick<NewTask, 'type' | 'priority' | 'payload' | 'maxAttempts'>): {
  type: TaskType;
  priority: number;
  payload: JsonObject;
  maxAttempts?: number;
} {
  if (!isTaskType(input.type)) {
    throw new AutodevError(
      'UNKNOWN_TASK_TYPE',
      `unknown task type "${input.type}"; run "autodev tasks types" to list the known ones`,
    );
  }
  const priority = input.priority ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 1 || priority > 10) {
    throw new AutodevError('INVALID_PRIORITY', `priority must be a whole number from 1 to 10 (got ${priority})`);
  }
  const payload = input.payload === undefined ? {} : input.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new AutodevError('INVALID_PAYLOAD', 'payload must be a JSON object, e.g. {"idea": "Stripe webhook handler"}');
  }
  // Before anything serializes it: a payload nested too deep would overflow JSON.stringify's stack.
  const problem = jsonLimitProblem(payload, PAYLOAD_LIMITS);
  if (problem !== undefined) {
    throw new AutodevError(
      'INVALID_PAYLOAD',
      `payload ${problem}; the limits are ${PAYLOAD_LIMITS.maxDepth} levels and ${PAYLOAD_LIMITS.maxBytes} bytes`,
    );
  }
  const { maxAttempts } = input;
  if (maxAttempts !== undefined) assertMaxAttempts(maxAttempts);
  return {
    type: input.type,
    priority,
    payload: payload as JsonObject,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  };
}

function assertMaxAttempts(maxAttempts: number): void {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `max attempts must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT} (got ${maxAttempts})`,
    );
  }
}

export async function enqueueTask(
  db: Kysely<Database>,
  input: NewTask,
  options: { now: number; defaultMaxAttempts: number },
): Promise<Task> {
  return (await enqueueTaskOnce(db, input, options)).task;
}

/**
 * Enqueues like `enqueueTask`, and says whether the task is new. With a `dedupeKey` that a task already has, nothing
 * is written and that task is returned (`created: false`); the unique index decides, so two processes enqueuing one
 * key at once create one task (the second waits for the first's commit on PostgreSQL, SQLite serializes writers).
 */
export async function enqueueTaskOnce(
  db: Kysely<Database>,
  input: NewTask,
  options: { now: number; defaultMaxAttempts: number },
): Promise<EnqueuedTask> {
  const { type, priority, payload } = validateNewTask(input);
  const maxAttempts = input.maxAttempts ?? options.defaultMaxAttempts;
  assertMaxAttempts(maxAttempts);
  const dedupeKey = input.dedupeKey ?? null;
  if (dedupeKey !== null && (dedupeKey === '' || dedupeKey.length > MAX_DEDUPE_KEY_CHARS)) {
    throw new AutodevError('VALIDATION_FAILED', `a dedupe key must be 1 to ${MAX_DEDUPE_KEY_CHARS} characters`);
  }
  const row = await db
    .insertInto('tasks')
    .values({
      type,
      status: 'pending',
      priority,
      payload: JSON.stringify(payload),
      max_attempts: maxAttempts,
      run_after: input.runAfter ?? options.now,
      parent_id: input.parentId ?? null,
      workflow_id: input.workflowId ?? null,
      repo_id: input.repoId ?? null,
      created_by: input.createdBy,
      created_at: options.now,
      updated_at: options.now,
      dedupe_key: dedupeKey,
    })
    .onConflict((conflict) => conflict.column('dedupe_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const existing = await db
      .selectFrom('tasks')
      .selectAll()
      .where('dedupe_key', '=', dedupeKey!)
      .executeTakeFirstOrThrow();
    return { task: toTask(existing), created: false };
  }
  await recordEvent(db, {
    kind: 'task.created',
    subjectType: 'task',
    subjectId: row.id,
    actor: input.createdBy,
    data: { type, priority, status: 'pending', ...(dedupeKey === null ? {} : { dedupe_key: dedupeKey }) },
    now: options.now,
  });
  return { task: toTask(row), created: true };
}
