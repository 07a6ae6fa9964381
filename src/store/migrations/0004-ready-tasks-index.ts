/**
 * @module Migration 0004: the claim's index, `(status, priority desc, run_after, id)`, which both engines' planners
 * pick for the claim's `status = ? ... order by priority desc, run_after, id limit 1` without sorting. It replaces
 * 0001's partial `tasks_claim_idx` (`where status = 'pending'`), which SQLite never used: it claimed through
 * `tasks_type_id_idx` and sorted every task of the type ever run, so each claim cost O(history) (a 20,000-task drain
 * took over 5 minutes instead of under one). Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function readyTasksIndexMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex('tasks_ready_idx')
        .on('tasks')
        .expression(sql`status, priority desc, run_after, id`)
        .execute();
      await db.schema.dropIndex('tasks_claim_idx').execute();
    },
  };
}
