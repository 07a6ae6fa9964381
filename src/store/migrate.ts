/**
 * @module Runs the numbered migrations in `./migrations/` (in order, each once) with Kysely's Migrator.
 * Concurrent migrators are safe, so two processes (or replicas' `autodev db migrate`) starting together migrate
 * once: on PostgreSQL Kysely holds an advisory lock (`pg_advisory_lock`) and runs the migrations in one transaction;
 * on SQLite (where Kysely takes no lock) the whole run is one `BEGIN IMMEDIATE` transaction, so a second migrator
 * waits for the file's write lock and then finds nothing left to do.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationResult, type MigrationResultSet } from 'kysely';
import type { Database } from './schema.js';
import type { DatabaseHandle } from './open-database.js';
import type { DialectCapabilities } from './dialect.js';
import { initialMigration } from './migrations/0001-initial.js';
import { providerLimitsMigration } from './migrations/0002-provider-limits.js';
import { agentControlsMigration } from './migrations/0003-agent-controls.js';
import { readyTasksIndexMigration } from './migrations/0004-ready-tasks-index.js';
import { leanTaskIndexesMigration } from './migrations/0005-lean-task-indexes.js';
import { statusListIndexesMigration } from './migrations/0006-status-list-indexes.js';
import { eventLogHorizonMigration } from './migrations/0007-event-log-horizon.js';
import { swarmConversationMigration } from './migrations/0013-swarm-conversation.js';
import { webhooksAndSchedulesMigration } from './migrations/0010-webhooks-and-schedules.js';
import { repositoryRemotesMigration } from './migrations/0008-repository-remotes.js';
import { notificationsMigration } from './migrations/0015-notifications.js';
import { memoryNotesMigration } from './migrations/0014-memory-notes.js';
import { mergeRequestUrlsMigration } from './migrations/0017-merge-request-urls.js';
import { projectsMigration } from './migrations/0016-projects.js';
import { forgeWritesMigration } from './migrations/0018-forge-writes.js';
import { operationsMigration } from './migrations/0020-operations.js';
import { openStoryTasksIndexMigration } from './migrations/0021-open-story-tasks-index.js';
import { taskCountsMigration } from './migrations/0022-task-counts.js';
import { projectAssessmentsMigration } from './migrations/0025-project-assessments.js';
import { eventLogCursorsMigration } from './migrations/0026-event-log-cursors.js';

/** Every migration, by name. Names sort in the order they run; never rename or edit a released one. */
export function allMigrations(dialect: DialectCapabilities): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(dialect),
    '0002-provider-limits': providerLimitsMigration(),
    '0003-agent-controls': agentControlsMigration(),
    '0004-ready-tasks-index': readyTasksIndexMigration(),
    '0005-lean-task-indexes': leanTaskIndexesMigration(dialect),
    '0006-status-list-indexes': statusListIndexesMigration(dialect),
    '0007-event-log-horizon': eventLogHorizonMigration(dialect),
    '0013-swarm-conversation': swarmConversationMigration(dialect),
    '0010-webhooks-and-schedules': webhooksAndSchedulesMigration(dialect),
    '0008-repository-remotes': repositoryRemotesMigration(),
    '0015-notifications': notificationsMigration(dialect),
    '0014-memory-notes': memoryNotesMigration(dialect),
    '0017-merge-request-urls': mergeRequestUrlsMigration(),
    '0016-projects': projectsMigration(dialect),
    '0018-forge-writes': forgeWritesMigration(dialect),
    '0020-operations': operationsMigration(dialect),
    '0021-open-story-tasks-index': openStoryTasksIndexMigration(),
    '0022-task-counts': taskCountsMigration(dialect),
    '0025-project-assessments': projectAssessmentsMigration(),
    '0026-event-log-cursors': eventLogCursorsMigration(),
  };
}

export interface MigrateOutcome {
  applied: string[];
}

export async function migrateToLatest(handle: DatabaseHandle): Promise<MigrateOutcome> {
  const migrate = (db: Kysely<Database>) =>
    new Migrator({
      db,
      provider: { getMigrations: async () => allMigrations(handle.dialect) },
      migrationTableName: 'autodev_migrations',
      migrationLockTableName: 'autodev_migrations_lock',
    }).migrateToLatest();
  const { error, results } =
    handle.dialect.name === 'postgres'
      ? await migrate(handle.db)
      : await handle.db.connection().execute(async (connection) => {
          await sql`begin immediate`.execute(connection);
          let outcome: MigrationResultSet;
          try {
            outcome = await migrate(connection);
          } catch (thrown) {
            await sql`rollback`.execute(connection);
            throw thrown;
          }
          await sql.raw(outcome.error ? 'rollback' : 'commit').execute(connection);
          return outcome;
        });
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    throw new Error(
      `database migration ${failed?.migrationName ?? ''} failed on ${handle.location}: ${(error as Error).message}`,
    );
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
