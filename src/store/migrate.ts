/**
 * @module Runs the numbered migrations in `./migrations/` (in order, each once) with Kysely's Migrator.
 * Concurrent migrators are safe: Kysely takes a lock table, so two processes starting together migrate once.
 */
import { Migrator, type Migration, type MigrationResult } from 'kysely';
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
import { operationsMigration } from './migrations/0020-operations.js';

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
    '0020-operations': operationsMigration(dialect),
  };
}

export interface MigrateOutcome {
  applied: string[];
}

export async function migrateToLatest(handle: DatabaseHandle): Promise<MigrateOutcome> {
  const migrator = new Migrator({
    db: handle.db,
    provider: { getMigrations: async () => allMigrations(handle.dialect) },
    migrationTableName: 'autodev_migrations',
    migrationLockTableName: 'autodev_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    throw new Error(
      `database migration ${failed?.migrationName ?? ''} failed on ${handle.location}: ${(error as Error).message}`,
    );
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
