/**
 * @module A worker's completion and its next claim in one transaction, so a busy worker commits once per task
 * instead of twice (complete, then claim). Same rules as `completeTask` + `claimNextTask`: the completion needs the
 * lease (else LEASE_LOST and nothing is claimed), the claim takes the next ready task of the worker's types under a
 * new lease (SKIP LOCKED on PostgreSQL). PostgreSQL: one prepared statement (postgres-statements.ts); SQLite: the
 * two statements in one write transaction.
 */
import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../store/dialect.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { claimNextTask } from './claim-task.js';
import { leaseLost, type LeaseHolder } from './lease.js';
import { completeAndClaimOnPostgres } from './postgres-statements.js';
import { completeTask } from './settle-task.js';
import { toTask, type Task } from './task-record.js';

export interface CompleteAndClaim {
  result: unknown;
  now: number;
  /** The types the next claim takes; empty claims nothing. */
  types: readonly string[];
  leaseMs: number;
}

/** Completes the held task and returns the next task claimed for the same worker, if one was ready. */
export async function completeAndClaimNext(
  db: Kysely<Database>,
  dialect: DialectCapabilities,
  holder: LeaseHolder,
  step: CompleteAndClaim,
): Promise<Task | undefined> {
  if (dialect.supportsDataModifyingCte && step.types.length > 0) {
    const result = JSON.stringify(step.result ?? null);
    const outcome = await completeAndClaimOnPostgres(db, {
      ...holder,
      result,
      now: step.now,
      types: step.types,
      leaseMs: step.leaseMs,
    });
    if (!outcome.completed) throw leaseLost(holder);
    return outcome.next && toTask(outcome.next);
  }
  return inTransaction(db, async (tx) => {
    await completeTask(tx, dialect, holder, { result: step.result, now: step.now });
    return claimNextTask(tx, dialect, {
      workerId: holder.workerId,
      types: step.types,
      leaseMs: step.leaseMs,
      now: step.now,
    });
  });
}
