/**
 * @module Migration 0021: the open tasks of stories (`tasks_open_story_idx`, partial: `workflow_id is not null and
 * status in ('pending', 'in_progress')`, on `id`), which the story board reads on every render to say who each story
 * waits for. Without it that read scanned the whole table (about 195 ms at a million tasks, `npm run bench:api`);
 * the partial index holds only the few open rows. Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function openStoryTasksIndexMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex('tasks_open_story_idx')
        .on('tasks')
        .column('id')
        .where(sql.ref('workflow_id'), 'is not', null)
        .where(sql.ref('status'), 'in', sql`('pending', 'in_progress')`)
        .execute();
    },
  };
}
