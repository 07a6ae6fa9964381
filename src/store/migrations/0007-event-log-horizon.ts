/**
 * @module Migration 0007 (PostgreSQL only): each `events` row records the id of the transaction that wrote it, so the
 * change log can be followed without skipping a row. On PostgreSQL two writers take event ids from one sequence and
 * may commit out of id order: a reader following `id > last` that saw id 2 committed could never see id 1, committed
 * later. `xid` (the top-level transaction id, `pg_current_xact_id()`, 64-bit, as bigint for the BRIN index) lets
 * `events/read-events.ts` read only rows of transactions older than the oldest one still in progress, in
 * `(xid, id)` order, which no later commit can fall behind. Every writer gets it from the column default (the
 * queue's one-statement SQL included); the rows migrated here get this migration's transaction id. A BRIN index:
 * xid grows with the insert order, so a block range or two (32 pages each) covers the unread tail, at almost no cost
 * per insert.
 * SQLite serialises writers, so its id order is already the commit order; nothing changes there.
 * Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function eventLogHorizonMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      if (dialect.name !== 'postgres') return;
      await db.schema
        .alterTable('events')
        .addColumn('xid', 'bigint', (c) => c.notNull().defaultTo(sql`(pg_current_xact_id()::text)::bigint`))
        .execute();
      await sql`create index events_xid_idx on events using brin (xid) with (pages_per_range = 32)`.execute(db);
    },
  };
}
