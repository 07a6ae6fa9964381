/**
 * @module Migration 0005: fewer index writes per task state change. A claim and a completion each rewrite the task
 * row (its status is indexed, so PostgreSQL cannot update it in place) and every index of `tasks` got an entry for
 * every row version: 7 index inserts per change, plus 3 for each `events` row. Partial indexes take entries only
 * for rows that match their predicate:
 * - PostgreSQL: `tasks_ready_idx` becomes `(priority desc, run_after, id) where status = 'pending'`: only pending
 *   rows; the claim writes `status = 'pending'` as a literal so generic plans of the prepared claim match the
 *   predicate. SQLite keeps 0004's full `(status, ...)` index: its planner prefers `tasks_type_id_idx` plus a sort
 *   over the partial one once statistics exist, and SQLite only rewrites the indexes whose columns change anyway.
 * - `tasks_workflow_idx` and `tasks_parent_idx` keep only rows that have a workflow / parent (`= ?` implies
 *   `is not null`, so lookups still use them on both engines).
 * - `events_created_idx` and `events_subject_idx` are dropped: nothing reads events by time or by subject (the SSE
 *   stream and the dashboard read by id). A per-subject history view adds its index back with its read path.
 * Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function leanTaskIndexesMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      if (dialect.name === 'postgres') {
        await db.schema.dropIndex('tasks_ready_idx').execute();
        await db.schema
          .createIndex('tasks_ready_idx')
          .on('tasks')
          .expression(sql`priority desc, run_after, id`)
          .where(sql.ref('status'), '=', sql.lit('pending'))
          .execute();
      }
      for (const column of ['workflow_id', 'parent_id'] as const) {
        const name = column === 'workflow_id' ? 'tasks_workflow_idx' : 'tasks_parent_idx';
        await db.schema.dropIndex(name).execute();
        await db.schema.createIndex(name).on('tasks').column(column).where(sql.ref(column), 'is not', null).execute();
      }
      await db.schema.dropIndex('events_created_idx').execute();
      await db.schema.dropIndex('events_subject_idx').execute();
    },
  };
}
