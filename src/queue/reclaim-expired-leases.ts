/**
 * @module Returns tasks whose worker stopped heartbeating (crashed, killed, partitioned) to the queue.
 * The lost attempt counts: a task that keeps killing its workers ends `failed` instead of looping forever.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Database } from '../store/schema.js';
import { retryDelayMs, type BackoffSettings } from './backoff.js';

export const LEASE_EXPIRED_ERROR = 'lease expired: the worker stopped heartbeating (crashed or was killed)';

/** Reclaims every expired lease; returns the ids it touched. Safe to run from many processes at once. */
export async function reclaimExpiredLeases(
  db: Kysely<Database>,
  options: { now: number; backoff: BackoffSettings; limit?: number },
): Promise<number[]> {
  const expired = await db
    .selectFrom('tasks')
    .select(['id', 'lease_owner', 'attempts', 'max_attempts'])
    .where('status', '=', 'in_progress')
    .where('lease_expires_at', '<', options.now)
    .limit(options.limit ?? 100)
    .execute();
  const reclaimed: number[] = [];
  for (const task of expired) {
    const exhausted = task.attempts >= task.max_attempts;
    await db.transaction().execute(async (tx) => {
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
        data: { status: exhausted ? 'failed' : 'pending', error: LEASE_EXPIRED_ERROR, previousOwner: task.lease_owner },
        now: options.now,
      });
    });
  }
  return reclaimed;
}
