/**
 * @module Migration 0001: the whole domain of DESIGN.md. Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function initialMigration(dialect: DialectCapabilities): Migration {
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
      await table(db, 'tasks')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('run_after', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('parent_id', dialect.idColumnType)
        .addColumn('workflow_id', dialect.idColumnType)
        .addColumn('repo_id', dialect.idColumnType)
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addCheckConstraint(
          'tasks_status_check',
          sql`status in ('pending', 'in_progress', 'completed', 'failed', 'cancelled')`,
        )
        .addCheckConstraint('tasks_priority_check', sql`priority between 1 and 10`)
        .execute();
      // The claim reads this index in order: ready work, highest priority first, then oldest.
      await db.schema
        .createIndex('tasks_claim_idx')
        .on('tasks')
        .expression(sql`priority desc, run_after, id`)
        .where(sql.ref('status'), '=', 'pending')
        .execute();
      // Reclaiming expired leases scans only in-progress rows.
      await db.schema
        .createIndex('tasks_lease_idx')
        .on('tasks')
        .column('lease_expires_at')
        .where(sql.ref('status'), '=', 'in_progress')
        .execute();
      await db.schema.createIndex('tasks_status_id_idx').on('tasks').columns(['status', 'id']).execute();
      await db.schema.createIndex('tasks_type_id_idx').on('tasks').columns(['type', 'id']).execute();
      await db.schema.createIndex('tasks_workflow_idx').on('tasks').column('workflow_id').execute();
      await db.schema.createIndex('tasks_parent_idx').on('tasks').column('parent_id').execute();

      await table(db, 'events')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('events_subject_idx')
        .on('events')
        .columns(['subject_type', 'subject_id', 'id'])
        .execute();
      await db.schema.createIndex('events_created_idx').on('events').column('created_at').execute();

      await table(db, 'workflows')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('repo_id', dialect.idColumnType)
        .addColumn('fix_rounds', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('workflows_status_idx').on('workflows').columns(['status', 'id']).execute();

      await table(db, 'approvals')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('workflow_id', dialect.idColumnType)
        .addColumn('decided_by', 'text')
        .addColumn('reason', 'text')
        .addColumn('decided_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('approvals_status_idx').on('approvals').columns(['status', 'id']).execute();
      await db.schema.createIndex('approvals_workflow_idx').on('approvals').column('workflow_id').execute();

      await db.schema
        .createTable('agents')
        .addColumn('instance_id', 'text', (c) => c.primaryKey())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('current_task_id', dialect.idColumnType)
        .addColumn('provider', 'text')
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('status_detail', 'text')
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('agents_role_idx').on('agents').column('role').execute();

      await table(db, 'sessions')
        .addColumn('task_id', dialect.idColumnType)
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('agent_instance_id', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('provider_session_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text')
        .addColumn('tokens_in', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('tokens_out', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('tokens_cache', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('sessions_task_idx').on('sessions').column('task_id').execute();
      await db.schema.createIndex('sessions_started_idx').on('sessions').column('started_at').execute();

      await table(db, 'session_events')
        .addColumn('session_id', dialect.idColumnType, (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('session_events_seq_idx')
        .on('session_events')
        .columns(['session_id', 'seq'])
        .unique()
        .execute();

      await table(db, 'repositories')
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('forge', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('default_branch', 'text', (c) => c.notNull())
        .addColumn('test_command', 'text')
        .addColumn('deploy_command', 'text')
        .addColumn('lint_command', 'text')
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await table(db, 'merge_requests')
        .addColumn('repo_id', dialect.idColumnType, (c) => c.notNull())
        .addColumn('workflow_id', dialect.idColumnType)
        .addColumn('source_branch', 'text', (c) => c.notNull())
        .addColumn('target_branch', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('head_sha', 'text')
        .addColumn('target_sha', 'text')
        .addColumn('merge_sha', 'text')
        .addColumn('external_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('merge_requests_repo_idx')
        .on('merge_requests')
        .columns(['repo_id', 'status'])
        .execute();
      await db.schema.createIndex('merge_requests_workflow_idx').on('merge_requests').column('workflow_id').execute();

      await table(db, 'merge_request_notes')
        .addColumn('merge_request_id', dialect.idColumnType, (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('verdict', 'text')
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('merge_request_notes_mr_idx')
        .on('merge_request_notes')
        .column('merge_request_id')
        .execute();

      await table(db, 'discussions')
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('discussions_topic_idx').on('discussions').columns(['topic', 'id']).execute();

      await table(db, 'proposals')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('votes_for', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('votes_against', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('proposals_status_idx').on('proposals').columns(['status', 'id']).execute();

      await table(db, 'instructions')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .addColumn('delivered_to_session_id', dialect.idColumnType)
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('instructions_role_idx')
        .on('instructions')
        .columns(['role', 'delivered_at'])
        .execute();

      await table(db, 'api_tokens')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
    },
  };
}
