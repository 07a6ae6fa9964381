/**
 * @module Claims the next ready task of the given types under a lease, in one UPDATE statement:
 * pending rows with `run_after <= now`, highest priority first, then oldest, become `in_progress` with
 * `lease_owner`, `lease_expires_at` and `attempts + 1` set, and are returned, with a `task.claimed` event.
 *
 * PostgreSQL: the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each other's row
 * instead of queueing on it. SQLite: the statement runs in the engine's single writer, so no two claims interleave.
 * Either way no task is handed to two workers.
 *
 * Where the engine allows writes in a WITH (PostgreSQL), the claim and its event row are one prepared statement
 * (postgres-statements.ts): one round trip and one commit per claim instead of four round trips (begin, update,
 * insert, commit), parsed and planned once per connection. SQLite runs the Kysely form below in one transaction.
 */
import { sql, type Kysely, type QueryCreator } from 'kysely';
import { claimOnPostgres } from './postgres-statements.js';
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
 * in index order (SQLite: `(status, priority desc, run_after, id)`; the PostgreSQL claim in postgres-statements.ts
 * reads 0005's partial `(priority desc, run_after, id) where status = 'pending'`), so it reads only until the first
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

  if (dialect.supportsDataModifyingCte) {
    // PostgreSQL: the claim and its event row in one prepared statement (postgres-statements.ts).
    const row = await claimOnPostgres(db, { workerId, types, leaseMs, now });
    return row && toTask(row);
  }

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
