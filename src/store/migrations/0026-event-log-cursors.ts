/**
 * @module Migration 0026: where a durable follower of the change log stopped (`event_log_cursors`, one row per
 * follower name, e.g. `notifier`), so a restarted follower resumes there instead of "from now". The columns are an
 * `EventCursor` (`events/read-events.ts`): `xid` and `event_id` the last row read (`xid` 0 on SQLite), `snapshot` the
 * PostgreSQL snapshot of a cursor made at "now" (null once read past it). Written only forward
 * (`events/stored-event-cursor.ts`), so several followers may share one row.
 * Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';

export function eventLogCursorsMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('event_log_cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('xid', 'bigint', (c) => c.notNull())
        .addColumn('event_id', 'bigint', (c) => c.notNull())
        .addColumn('snapshot', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
