/**
 * @module Migration 0010: what makes the webhook and scheduler services idempotent in the database, not in memory.
 * - `tasks.dedupe_key` (nullable, unique): a task enqueued with a key exists once; enqueuing it again returns the
 *   existing task (`queue/enqueue-task.ts`). Tasks without a key (all others) are unaffected: NULLs never collide.
 * - `webhook_deliveries`: one row per forge delivery, unique `(forge, delivery_id)`, so a redelivered webhook does
 *   nothing new; `action_key` (nullable, unique) names the effect a delivery had ("story for issue 12"), so two
 *   different deliveries of one fact (labelled twice, out of order) start one story.
 * - `schedule_runs`: unique `(schedule_name, slot_at)`: the scheduler that inserts a slot's row fires it, in the same
 *   transaction as its tasks, however many schedulers run.
 * Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function webhooksAndSchedulesMigration(dialect: DialectCapabilities): Migration {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
  type Db = Kysely<any>;
  const table = (db: Db, name: string) =>
    db.schema
      .createTable(name)
      .addColumn('id', dialect.idColumnType, (c) =>
        dialect.name === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
      );
  return {
    async up(db: Db) {
      await db.schema.alterTable('tasks').addColumn('dedupe_key', 'text').execute();
      await db.schema.createIndex('tasks_dedupe_key_idx').on('tasks').column('dedupe_key').unique().execute();

      await table(db, 'webhook_deliveries')
        .addColumn('forge', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('action_key', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('workflow_id', dialect.idColumnType)
        .addColumn('task_id', dialect.idColumnType)
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('webhook_deliveries_delivery_key', ['forge', 'delivery_id'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_action_key_idx')
        .on('webhook_deliveries')
        .column('action_key')
        .unique()
        .execute();

      await table(db, 'schedule_runs')
        .addColumn('schedule_name', 'text', (c) => c.notNull())
        .addColumn('slot_at', 'bigint', (c) => c.notNull())
        .addColumn('fired_by', 'text', (c) => c.notNull())
        .addColumn('task_ids', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('schedule_runs_slot_key', ['schedule_name', 'slot_at'])
        .execute();
    },
  };
}
