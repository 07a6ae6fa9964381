/**
 * @module Migration 0003: the desired state of each role's agents (how many workers, restart requests), written by
 * `autodev agents scale|restart` from any process and reconciled by the supervisor of every running process.
 */
import type { Kysely, Migration } from 'kysely';

export function agentControlsMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('agent_controls')
        .addColumn('role', 'text', (c) => c.primaryKey())
        .addColumn('desired_workers', 'integer', (c) => c.notNull())
        .addColumn('restart_requested_at', 'bigint')
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
