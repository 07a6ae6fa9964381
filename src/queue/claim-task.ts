/**
 * @module Claims the next ready task of the given types under a lease, in one UPDATE statement:
 * pending rows with `run_after <= now`, highest priority first, then oldest, become `in_progress` with
 * `lease_owner`, `lease_expires_at` and `attempts + 1` set, and are returned, with a `task.claimed` event.
 *
 * PostgreSQL: the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each other's row
 * instead of queueing on it. SQLite: the statement runs in the engine's single writer, so no two claims interleave.
 * Either way no task is handed to two workers.
 *
 * This is the claim on SQLite, and on PostgreSQL inside a caller's transaction. A PostgreSQL worker's own claims go
 * through the batched prepared statement instead (`WORKER_STEPS_SQL`, worker-step-batcher.ts), the same rules.
 */
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { DialectCapabilities } from '../store/dialect.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { recordEvent } from '../events/record-event.js';
import { toTask, type Task } from './task-record.js';

export interface ClaimRequest {
  workerId: string;
  types: readonly string[];
  leaseMs: number;
  now: number;
}

/**
 * The id of the task the claim takes: ready, of the given types, by priority then age. Uses `tasks_ready_idx`
 * in index order (SQLite: `(status, priority desc, run_after, id)`; PostgreSQL, here and in postgres-statements.ts:
 * 0005's partial `(priority desc, run_after, id) where status = 'pending'`), so it reads only until the first
 * match (test/queue/claim-plan.test.ts).
 */
export function nextReadyTaskQuery(
  qb: QueryCreator<Database>,
  dialect: DialectCapabilities,
  ready: { types: readonly string[]; now: number },
) {
  const next = qb
    .selectFrom('tasks')
    .select('id')
    // A literal, as in the prepared PostgreSQL claim (postgres-statements.ts), whose partial index needs one.
    .where('status', '=', sql.lit('pending'))
    .where('run_after', '<=', ready.now)
    .where('type', 'in', ready.types)
    .orderBy('priority', 'desc')
    .orderBy('run_after')
    .orderBy('id')
    .limit(1);
  return dialect.supportsSkipLocked ? next.forUpdate().skipLocked() : next;
}

export async function claimNextTask(
  db: Kysely<Database>,
  dialect: DialectCapabilities,
  request: ClaimRequest,
): Promise<Task | undefined> {
  if (request.types.length === 0) return undefined;
  const { workerId, types, leaseMs, now } = request;

  const claim = (qb: QueryCreator<Database>) =>
    qb
      .updateTable('tasks')
      .set((eb) => ({
        status: 'in_progress',
        lease_owner: workerId,
        lease_expires_at: now + leaseMs,
        attempts: eb('attempts', '+', 1),
        started_at: eb.fn.coalesce('started_at', eb.val(now)),
        updated_at: now,
      }))
      .where('id', '=', nextReadyTaskQuery(qb, dialect, { types, now }));

  // In the caller's transaction if any (complete-and-claim.ts), else one of its own.
  return inTransaction(db, async (tx) => {
    const row = await claim(tx).returningAll().executeTakeFirst();
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
