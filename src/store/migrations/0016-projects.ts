/**
 * @module Migration 0016: the product pipeline's projects. A project is a `product` workflow plus one `projects` row
 * keyed by that workflow's id: the proposal (name, title, idea, problem, audience, spec, ratings, targets, estimated
 * tokens), where it is (`status`, one of `PROJECT_STATUSES`; `deferred_until` for a parked one), what approving it
 * built (`repo_id`, `story_workflow_id`, `product_dir`) and what publishing sent (`publications`, JSON per target).
 * Its approvals are `approvals` rows of kind `project`/`publish` with `subject_type 'project'`.
 * Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function projectsMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('projects')
        .addColumn('workflow_id', dialect.idColumnType, (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('idea', 'text', (c) => c.notNull())
        .addColumn('problem', 'text', (c) => c.notNull())
        .addColumn('audience', 'text', (c) => c.notNull())
        .addColumn('spec_markdown', 'text', (c) => c.notNull())
        .addColumn('ratings', 'text', (c) => c.notNull())
        .addColumn('targets', 'text', (c) => c.notNull())
        .addColumn('estimated_tokens', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('deferred_until', 'bigint')
        .addColumn('proposed_by', 'text', (c) => c.notNull())
        .addColumn('source_task_id', dialect.idColumnType)
        .addColumn('repo_id', dialect.idColumnType)
        .addColumn('story_workflow_id', dialect.idColumnType)
        .addColumn('product_dir', 'text')
        .addColumn('publications', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint(
          'projects_status_check',
          sql`status in ('proposed', 'deferred', 'rejected', 'building', 'awaiting_publish', 'publishing', 'published', 'publish_rejected', 'failed')`,
        )
        .addUniqueConstraint('projects_name_unique', ['name'])
        .execute();
      await db.schema.createIndex('projects_status_idx').on('projects').columns(['status', 'deferred_until']).execute();
      await db.schema.createIndex('projects_story_idx').on('projects').column('story_workflow_id').execute();
    },
  };
}
