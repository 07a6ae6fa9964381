/**
 * @module Claims the next ready task of the given types under a lease, in one UPDATE statement:
 * pending rows with `run_after <= now`, highest priority first, then oldest, become `in_progress` with
 * `lease_owner`, `lease_expires_at` and `attempts + 1` set, and are returned, with a `task.claimed` event.
 *
 * PostgreSQL: the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each other's row
 * instead of queueing on it. SQLite: the statement runs in the engine's single writer, so no two claims interleave.
 * Either way no task is handed to two workers.
 *
 * Where the engine allows writes in a WITH (PostgreSQL), the claim and its event row are one statement: one round
 * trip and one commit per claim instead of four round trips (begin, update, insert, commit). With a 1 ms round trip
 * and 5 ms fsync that doubled drain throughput (bench/queue-throughput.ts); graphile-worker's claim is one statement too.
 */
import { sql, type Kysely, type QueryCreator } from 'kysely';
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

/**
 * The id of the task the claim takes: ready, of the given types, by priority then age. Uses `tasks_ready_idx`
 * (status, priority desc, run_after, id) in index order, so it reads only until the first match (test/queue/claim-plan.test.ts).
 */
export function nextReadyTaskQuery(
  qb: QueryCreator<Database>,
  dialect: DialectCapabilities,
  ready: { types: readonly string[]; now: number },
) {
  const next = qb
    .selectFrom('tasks')
    .select('id')
    .where('status', '=', 'pending')
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
    // The event's data is built from the claimed row; same fields as recordEvent writes below.
    const row = await db
      .with('claimed', (qb) => claim(qb).returningAll())
      .with('claimed_event', (qb) =>
        qb
          .insertInto('events')
          .columns(['kind', 'subject_type', 'subject_id', 'actor', 'data', 'created_at'])
          .expression((eb) =>
            eb
              .selectFrom('claimed')
              .select([
                sql.lit('task.claimed').as('kind'),
                sql.lit('task').as('subject_type'),
                sql<string>`cast(claimed.id as text)`.as('subject_id'),
                sql.val(workerId).as('actor'),
                sql<string>`json_build_object('type', claimed.type, 'attempt', claimed.attempts, 'status', 'in_progress')::text`.as(
                  'data',
                ),
                sql.val(now).as('created_at'),
              ]),
          ),
      )
      .selectFrom('claimed')
      .selectAll()
      .executeTakeFirst();
    return row && toTask(row);
  }

  return db.transaction().execute(async (tx) => {
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
