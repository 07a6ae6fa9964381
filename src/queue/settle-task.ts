/**
 * @module How a worker ends its hold on a task: complete it, fail it (retry with backoff, or dead-letter after
 * max_attempts), or release it untouched (shutdown, provider rate limit: not a failed attempt).
 * Each takes the caller's `db`, which may be a transaction: the caller's own writes (the tasks a completion starts,
 * say) commit together with the task's new state, or not at all.
 */
import type { Kysely, QueryCreator } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { DialectCapabilities } from '../store/dialect.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { retryDelayMs, type BackoffSettings } from './backoff.js';
import { heldBy, leaseLost, type LeaseHolder } from './lease.js';
import { completeOnPostgres } from './postgres-statements.js';
import type { Task } from './task-record.js';

/**
 * Marks a held task completed with its result, and records `task.completed`. On PostgreSQL that is one prepared
 * statement (a data-modifying WITH, postgres-statements.ts): one round trip, atomic without a transaction, or part
 * of the caller's. Elsewhere two
 * statements in the caller's transaction, or a new one.
 */
export async function completeTask(
  db: Kysely<Database>,
  dialect: DialectCapabilities,
  holder: LeaseHolder,
  outcome: { result: unknown; now: number },
): Promise<void> {
  const complete = (qb: QueryCreator<Database>) =>
    heldBy(qb.updateTable('tasks'), holder).set({
      status: 'completed',
      result: JSON.stringify(outcome.result ?? null),
      error: null,
      lease_owner: null,
      lease_expires_at: null,
      finished_at: outcome.now,
      updated_at: outcome.now,
    });
  const event = {
    kind: 'task.completed',
    subjectType: 'task',
    subjectId: holder.taskId,
    actor: holder.workerId,
    data: { status: 'completed' },
    now: outcome.now,
  };

  if (dialect.supportsDataModifyingCte) {
    // PostgreSQL: the update and its event row in one prepared statement (postgres-statements.ts).
    const completed = await completeOnPostgres(db, {
      taskId: holder.taskId,
      workerId: holder.workerId,
      result: JSON.stringify(outcome.result ?? null),
      now: outcome.now,
    });
    if (!completed) throw leaseLost(holder);
    return;
  }

  await inTransaction(db, async (tx) => {
    const updated = await complete(tx).executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw leaseLost(holder);
    await recordEvent(tx, event);
  });
}

export interface FailOutcome {
  error: string;
  now: number;
  backoff: BackoffSettings;
  /** Keep a partial result (e.g. the reason a result was invalid) beside the error. */
  result?: unknown;
  random?: () => number;
}

/**
 * Called in the transaction that dead-letters a task (out of attempts: `failed`), so what depends on the task (its
 * workflow) moves with it: both commit or neither. The queue knows nothing of workflows; the agent runtime supplies it.
 */
export type DeadLetterHook = (tx: Kysely<Database>, task: Task, error: string) => Promise<void>;

/** Records a failed attempt: back to `pending` after a backoff delay, or `failed` when no attempts are left. */
export async function failTask(
  db: Kysely<Database>,
  holder: LeaseHolder,
  outcome: FailOutcome,
): Promise<{ status: 'pending' | 'failed'; runAfter: number | null }> {
  const row = await heldBy(db.updateTable('tasks'), holder)
    .set({ updated_at: outcome.now })
    .returning(['attempts', 'max_attempts'])
    .executeTakeFirst();
  if (!row) throw leaseLost(holder);
  const exhausted = row.attempts >= row.max_attempts;
  const runAfter = exhausted ? null : outcome.now + retryDelayMs(row.attempts, outcome.backoff, outcome.random);
  await db
    .updateTable('tasks')
    .set({
      status: exhausted ? 'failed' : 'pending',
      error: outcome.error,
      result: outcome.result === undefined ? null : JSON.stringify(outcome.result),
      lease_owner: null,
      lease_expires_at: null,
      ...(runAfter === null ? { finished_at: outcome.now } : { run_after: runAfter }),
    })
    .where('id', '=', holder.taskId)
    .execute();
  await recordEvent(db, {
    kind: exhausted ? 'task.failed' : 'task.retry_scheduled',
    subjectType: 'task',
    subjectId: holder.taskId,
    actor: holder.workerId,
    data: { status: exhausted ? 'failed' : 'pending', error: outcome.error, attempt: row.attempts, runAfter },
    now: outcome.now,
  });
  return { status: exhausted ? 'failed' : 'pending', runAfter };
}

/**
 * Gives a task back without counting the attempt: on shutdown (run again at once) or when the provider is rate
 * limited (run again after the reset).
 */
export async function releaseTask(
  db: Kysely<Database>,
  holder: LeaseHolder,
  release: { reason: string; runAfter: number; now: number },
): Promise<void> {
  const updated = await heldBy(db.updateTable('tasks'), holder)
    .set((eb) => ({
      status: 'pending',
      attempts: eb('attempts', '-', 1),
      lease_owner: null,
      lease_expires_at: null,
      run_after: release.runAfter,
      updated_at: release.now,
    }))
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) throw leaseLost(holder);
  await recordEvent(db, {
    kind: 'task.released',
    subjectType: 'task',
    subjectId: holder.taskId,
    actor: holder.workerId,
    data: { status: 'pending', reason: release.reason, runAfter: release.runAfter },
    now: release.now,
  });
}

/** Extends the lease of a task still being worked on; LEASE_LOST tells the worker to stop. */
export async function heartbeatTask(
  db: Kysely<Database>,
  holder: LeaseHolder,
  heartbeat: { leaseMs: number; now: number },
): Promise<void> {
  const updated = await heldBy(db.updateTable('tasks'), holder)
    .set({ lease_expires_at: heartbeat.now + heartbeat.leaseMs })
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) throw leaseLost(holder);
}
