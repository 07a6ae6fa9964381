/**
 * @module Migration 0015: the notification outbox. One row per message per webhook, written by the notifier when
 * a human is needed (an approval opens, a story waits, a provider is limited with no fallback, the daily budget is
 * spent) and delivered by its sender loop with retries; the workflow never waits on it. `(webhook, dedupe_key)` is
 * unique, so two processes following the same event log queue one message.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function notificationsMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('notifications')
        .addColumn('id', dialect.idColumnType, (c) =>
          dialect.name === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('webhook', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .addCheckConstraint('notifications_status_check', sql`status in ('pending', 'delivered', 'failed')`)
        .addUniqueConstraint('notifications_dedupe_unique', ['webhook', 'dedupe_key'])
        .execute();
      await db.schema
        .createIndex('notifications_due_idx')
        .on('notifications')
        .columns(['status', 'next_attempt_at'])
        .execute();
    },
  };
}
