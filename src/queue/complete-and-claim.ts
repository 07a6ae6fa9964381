/**
 * @module A worker's completion and its next claim in one transaction, so a busy worker commits once per task
 * instead of twice (complete, then claim). Same rules as `completeTask` + `claimNextTask`: the completion needs the
 * lease (else LEASE_LOST and nothing is claimed), the claim takes the next ready task of the worker's types under a
 * new lease (SKIP LOCKED on PostgreSQL). The two statements run in one write transaction: SQLite's path. A
 * PostgreSQL worker's steps go through the batched prepared statement instead (worker-step-batcher.ts).
 */
import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../store/dialect.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { claimNextTask } from './claim-task.js';
import type { LeaseHolder } from './lease.js';
import { completeTask } from './settle-task.js';
import type { Task } from './task-record.js';

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
