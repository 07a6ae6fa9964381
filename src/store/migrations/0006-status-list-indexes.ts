/**
 * @module Migration 0006 (PostgreSQL only): the task list's status filter without a full `(status, id)` index.
 * `tasks_status_id_idx` took an entry for every row version: each claim and each completion rewrites the task
 * (its status changes, so PostgreSQL cannot update it in place) and paid an index insert there, ~14% of the WAL of
 * a drained task. What the status-filtered list (`order by id desc`) really needs on PostgreSQL:
 * - `pending` and `in_progress`: the partial `tasks_ready_idx` / `tasks_lease_idx` hold exactly those rows;
 * - `completed`, the bulk of the table: the primary key read newest-first finds a page of them at once;
 * - `failed` and `cancelled`, rare: the new partial `tasks_rare_status_idx (id) where status in (...)`, which a
 *   task enters at most once, when it ends that way.
 * The counts by status were one pass over the table before and still are. `tasks_type_id_idx` stays: without it a
 * type filter walks the whole history for a type that is rare or absent (test/queue/list-plan.test.ts).
 * SQLite keeps its `(status, id)` index: its planner needs it and SQLite only rewrites the indexes whose columns
 * change anyway. Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function statusListIndexesMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      if (dialect.name !== 'postgres') return;
      await db.schema
        .createIndex('tasks_rare_status_idx')
        .on('tasks')
        .column('id')
        .where(sql.ref('status'), 'in', sql`('failed', 'cancelled')`)
        .execute();
      await db.schema.dropIndex('tasks_status_id_idx').execute();
    },
  };
}
