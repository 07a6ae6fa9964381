/**
 * @module Returns tasks whose worker stopped heartbeating (crashed, killed, partitioned) to the queue.
 * The lost attempt counts: a task that keeps killing its workers ends `failed` instead of looping forever; the
 * caller's dead-letter hook then runs in the same transaction.
 */
import { sql, type Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Database } from '../store/schema.js';
import { retryDelayMs, type BackoffSettings } from './backoff.js';
import type { DeadLetterHook } from './settle-task.js';
import { toTask } from './task-record.js';

export const LEASE_EXPIRED_ERROR = 'lease expired: the worker stopped heartbeating (crashed or was killed)';

/**
 * The tasks whose lease ran out. The status is a literal, not a bound parameter: only then does SQLite's planner
 * match the partial `tasks_lease_idx (lease_expires_at) where status = 'in_progress'` and read just the expired
 * leases (PostgreSQL matches it either way). Exported for the plan test.
 */
export function expiredLeasesQuery(db: Kysely<Database>, now: number, limit: number) {
  return db
    .selectFrom('tasks')
    .select(['id', 'lease_owner', 'attempts', 'max_attempts'])
    .where('status', '=', sql.lit('in_progress'))
    .where('lease_expires_at', '<', now)
    .limit(limit);
}

/** Reclaims every expired lease; returns the ids it touched. Safe to run from many processes at once. */
export async function reclaimExpiredLeases(
  db: Kysely<Database>,
  options: {
    now: number;
    backoff: BackoffSettings;
    limit?: number;
    /** Runs in the transaction that dead-letters a task out of attempts (see `DeadLetterHook`). */
    onDeadLetter?: DeadLetterHook | undefined;
  },
): Promise<number[]> {
  const expired = await expiredLeasesQuery(db, options.now, options.limit ?? 100).execute();
  const reclaimed: number[] = [];
  let hookError: unknown;
  for (const task of expired) {
    const exhausted = task.attempts >= task.max_attempts;
    const reclaim = (hook: DeadLetterHook | undefined) =>
      db.transaction().execute(async (tx) => {
        // Guard on the owner we saw: if the worker came back and settled meanwhile, leave the row alone.
        const updated = await tx
          .updateTable('tasks')
          .set({
            status: exhausted ? 'failed' : 'pending',
            error: LEASE_EXPIRED_ERROR,
            lease_owner: null,
            lease_expires_at: null,
            updated_at: options.now,
            ...(exhausted
              ? { finished_at: options.now }
              : { run_after: options.now + retryDelayMs(task.attempts, options.backoff) }),
          })
          .where('id', '=', task.id)
          .where('status', '=', 'in_progress')
          .where('lease_owner', '=', task.lease_owner)
          .where('lease_expires_at', '<', options.now)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) return;
        reclaimed.push(task.id);
        await recordEvent(tx, {
          kind: exhausted ? 'task.failed' : 'task.lease_expired',
          subjectType: 'task',
          subjectId: task.id,
          actor: 'system',
          data: {
            status: exhausted ? 'failed' : 'pending',
            error: LEASE_EXPIRED_ERROR,
            previousOwner: task.lease_owner,
          },
          now: options.now,
        });
        if (exhausted && hook) {
          const row = await tx.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
          await hook(tx, toTask(row), LEASE_EXPIRED_ERROR);
        }
      });
    try {
      await reclaim(options.onDeadLetter);
    } catch (error) {
      if (!options.onDeadLetter || !exhausted) throw error;
      // The hook failed and took the reclaim with it: dead-letter the task alone, report the hook's error after.
      const at = reclaimed.indexOf(task.id);
      if (at >= 0) reclaimed.splice(at, 1);
      hookError ??= error;
      await reclaim(undefined);
    }
  }
  if (hookError !== undefined) throw hookError;
  return reclaimed;
}
