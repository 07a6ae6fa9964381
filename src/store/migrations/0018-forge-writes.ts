/**
 * @module Migration 0018: what Auto-Dev wrote into a GitLab/GitHub forge for an agent's result, and where the
 * polling fallback left off. `forge_writes` holds one row per intended write (an epic, a story issue, a link, a
 * priority, a review comment) under a unique `write_key` (`task:<id>:story:<n>`) with the request itself: the whole
 * plan is recorded before any forge call, each call is marked `calling` before and `done` (the forge's id and URL)
 * after, each in its own short transaction, so a retried task never writes twice. `forge_poll_cursors` keeps each repository's poll position per stream.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function forgeWritesMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('forge_writes')
        .addColumn('id', dialect.idColumnType, (c) =>
          dialect.name === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('write_key', 'text', (c) => c.notNull().unique())
        .addColumn('task_id', dialect.idColumnType, (c) => c.notNull().references('tasks.id').onDelete('cascade'))
        .addColumn('repo_id', dialect.idColumnType, (c) =>
          c.notNull().references('repositories.id').onDelete('cascade'),
        )
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text')
        .addColumn('url', 'text')
        .addColumn('detail', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint(
          'forge_writes_status_check',
          sql`status in ('planned', 'calling', 'done', 'failed', 'uncertain')`,
        )
        .execute();
      await db.schema.createIndex('forge_writes_task_idx').on('forge_writes').column('task_id').execute();
      await db.schema
        .createTable('forge_poll_cursors')
        .addColumn('repo_id', dialect.idColumnType, (c) =>
          c.notNull().references('repositories.id').onDelete('cascade'),
        )
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('forge_poll_cursors_pk', ['repo_id', 'stream'])
        .execute();
    },
  };
}
