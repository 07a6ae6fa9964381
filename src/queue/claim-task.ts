/**
 * @module Claims the next ready task of the given types under a lease, in one UPDATE statement:
 * pending rows with `run_after <= now`, highest priority first, then oldest, become `in_progress` with
 * `lease_owner`, `lease_expires_at` and `attempts + 1` set, and are returned.
 *
 * PostgreSQL: the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each other's row
 * instead of queueing on it. SQLite: the statement runs in the engine's single writer, so no two claims interleave.
 * Either way no task is handed to two workers.
 */
import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { recordEvent } from '../events/record-event.js';
import { toTask, type Task } from './task-record.js';

export interface ClaimRequest {
  workerId: string;
  types: readonly string[];
  leaseMs: number;
  now: number;
}

export async function claimNextTask(
  db: Kysely<Database>,
  dialect: DialectCapabilities,
  request: ClaimRequest,
): Promise<Task | undefined> {
  if (request.types.length === 0) return undefined;
  const { workerId, types, leaseMs, now } = request;
  return db.transaction().execute(async (tx) => {
    let next = tx
      .selectFrom('tasks')
      .select('id')
      .where('status', '=', 'pending')
      .where('run_after', '<=', now)
      .where('type', 'in', types)
      .orderBy('priority', 'desc')
      .orderBy('run_after')
      .orderBy('id')
      .limit(1);
    if (dialect.supportsSkipLocked) next = next.forUpdate().skipLocked();

    const row = await tx
      .updateTable('tasks')
      .set((eb) => ({
        status: 'in_progress',
        lease_owner: workerId,
        lease_expires_at: now + leaseMs,
        attempts: eb('attempts', '+', 1),
        started_at: eb.fn.coalesce('started_at', eb.val(now)),
        updated_at: now,
      }))
      .where('id', '=', next)
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    await recordEvent(tx, {
      kind: 'task.claimed',
      subjectType: 'task',
      subjectId: row.id,
      actor: workerId,
      data: { type: row.type, attempt: row.attempts, status: 'in_progress' },
      now,
    });
    return toTask(row);
  });
}
