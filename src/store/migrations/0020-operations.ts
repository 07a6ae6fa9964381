/**
 * @module Migration 0020: what operating many processes needs in the store.
 * - `process_logs`: the log lines each process records (warn and above, and its lifecycle lines at info) for
 *   `autodev logs` and `GET /api/logs`, indexed for the filters (time, role, level). On PostgreSQL each row records
 *   its writer's transaction id (`xid`, as `events` does since 0007) so `--follow` never skips a row that commits late.
 * - `agent_processes`: every process that runs agents, with its roles and heartbeat, so each can work out its share of
 *   a role's replicas and `autodev agents status` can list processes that run no worker right now.
 * - `agent_controls.replicas` (workers of the role across every process; null: one per process, as before 0020) and
 *   `agent_controls.restart_generation` (bumped by a restart; a worker started under an older one restarts).
 * - `tasks_finished_idx`: the task-duration metric reads the tasks finished lately.
 * Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function operationsMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('process_logs')
        .addColumn('id', dialect.idColumnType, (c) =>
          dialect.name === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('process_id', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('role', 'text')
        .addColumn('component', 'text')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('process_logs_created_idx').on('process_logs').column('created_at').execute();
      await db.schema.createIndex('process_logs_role_idx').on('process_logs').columns(['role', 'created_at']).execute();
      await db.schema
        .createIndex('process_logs_level_idx')
        .on('process_logs')
        .columns(['level', 'created_at'])
        .execute();
      if (dialect.name === 'postgres') {
        await db.schema
          .alterTable('process_logs')
          .addColumn('xid', 'bigint', (c) => c.notNull().defaultTo(sql`(pg_current_xact_id()::text)::bigint`))
          .execute();
        await sql`create index process_logs_xid_idx on process_logs using brin (xid) with (pages_per_range = 32)`.execute(
          db,
        );
      }

      await db.schema
        .createTable('agent_processes')
        .addColumn('process_id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addColumn('stopped_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('agent_processes_heartbeat_idx')
        .on('agent_processes')
        .column('heartbeat_at')
        .execute();

      await db.schema.alterTable('agent_controls').addColumn('replicas', 'integer').execute();
      await db.schema
        .alterTable('agent_controls')
        .addColumn('restart_generation', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema.createIndex('tasks_finished_idx').on('tasks').column('finished_at').execute();
    },
  };
}
