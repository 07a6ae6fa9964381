/**
 * @module The task counters (`task_counts`, migration 0022): tasks by status and type, kept exact by triggers on
 * `tasks` in the statement that changes a task, read here in a few rows whatever the table's size. On PostgreSQL the
 * triggers append signed deltas (no counter row is ever updated, so writers never wait on each other for one);
 * `foldTaskCounts` collapses them into one row per status and type, and the queue runs it now and then (after its
 * reclaim pass) so reads stay small. On SQLite the triggers keep one row per status and type and folding finds
 * nothing to do.
 */
import { sql, type Kysely } from 'kysely';
import { TASK_STATUSES, type TaskStatus } from '../domain/roles.js';
import type { DialectCapabilities } from '../store/dialect.js';
import type { Database } from '../store/schema.js';

/** Rows above which a fold is worth its writes; below it `foldTaskCounts` leaves the table alone. */
export const FOLD_MIN_ROWS = 1_000;

export interface TaskCount {
  status: TaskStatus;
  type: string;
  count: number;
}

/** Every (status, type) with at least one task, from the counters; one small read. */
export async function countTasksByStatusAndType(db: Kysely<Database>): Promise<TaskCount[]> {
  const rows = await countTasksQuery(db).execute();
  return rows
    .map((row) => ({ status: row.status, type: row.type, count: Number(row.count) }))
    .filter((row) => row.count !== 0);
}

/** Counts by status (every status present, 0 when none). */
export async function countTasksByStatus(db: Kysely<Database>): Promise<Record<TaskStatus, number>> {
  const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
  for (const row of await countTasksByStatusAndType(db)) counts[row.status] += row.count;
  return counts;
}

/** The query behind the counts: the counter rows summed by status and type; exported for plan tests. */
export function countTasksQuery(db: Kysely<Database>) {
  return db
    .selectFrom('task_counts')
    .select(['status', 'type', (eb) => eb.fn.sum<number | string>('n').as('count')])
    .groupBy(['status', 'type']);
}

/**
 * Folds the counter rows into one per status and type (dropping zeros) when there are more than `minRows`; returns
 * the rows folded (0: left alone). Safe beside writers and other folds: PostgreSQL deletes the rows its snapshot sees
 * and inserts their sums in one statement (a delta committed meanwhile stays; a row another fold took is skipped and
 * not summed), SQLite does it in one write transaction.
 */
export async function foldTaskCounts(
  db: Kysely<Database>,
  dialect: DialectCapabilities,
  minRows = FOLD_MIN_ROWS,
): Promise<number> {
  const size = await db
    .selectFrom('task_counts')
    .select((eb) => eb.fn.countAll<number | string>().as('rows'))
    .executeTakeFirstOrThrow();
  if (Number(size.rows) <= minRows) return 0;
  if (dialect.supportsDataModifyingCte) {
    const { rows } = await sql<{ folded: number | string }>`
      with gone as (delete from task_counts returning status, type, n),
      sums as (select status, type, sum(n) as n, count(*) as rows from gone group by status, type),
      kept as (insert into task_counts (status, type, n) select status, type, n from sums where n <> 0)
      select coalesce(sum(rows), 0) as folded from sums`.execute(db);
    return Number(rows[0]?.folded ?? 0);
  }
  return db.transaction().execute(async (tx) => {
    const sums = await countTasksQuery(tx)
      .select((eb) => eb.fn.countAll<number | string>().as('rows'))
      .execute();
    await tx.deleteFrom('task_counts').execute();
    const kept = sums.filter((s) => Number(s.count) !== 0);
    if (kept.length > 0) {
      await tx
        .insertInto('task_counts')
        .values(kept.map((s) => ({ status: s.status, type: s.type, n: Number(s.count) })))
        .execute();
    }
    return sums.reduce((total, s) => total + Number(s.rows), 0);
  });
}
