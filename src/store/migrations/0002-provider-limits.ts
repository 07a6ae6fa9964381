/**
 * @module Migration 0002: provider rate-limit state shared by every process (a limited provider is skipped or
 * waited for until `limited_until`). Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';

export function providerLimitsMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('provider_limits')
        .addColumn('provider', 'text', (c) => c.primaryKey())
        .addColumn('limited_until', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
