/**
 * @module Migration 0022: `task_counts`, the number of tasks by status and type kept by triggers on `tasks`, so the
 * counts (`GET /api/tasks/counts`, `autodev status`, `/metrics`) read a few rows instead of scanning the table
 * (about 121 ms at a million tasks, `npm run bench:api`). Every write to `tasks` (enqueue, claim, complete, fail,
 * release, cancel, retry, reclaim, prune, and any hand-written SQL) moves the counters in the same statement, so a
 * count is exact in every snapshot.
 * - PostgreSQL: statement-level triggers with transition tables append one signed delta row per status and type a
 *   statement changed (no row is ever updated, so concurrent writers never wait on a counter row; the hot path's
 *   prepared statements stay one statement each). Reads sum the rows; `foldTaskCounts` (queue/task-counts.ts)
 *   folds the deltas into one row per status and type now and then. `truncate tasks` empties the counters too.
 * - SQLite (one writer, no contention): row-level triggers upsert exactly one row per status and type
 *   (the table's primary key, `without rowid`).
 * Backfilled from the existing rows in the migration's transaction (on PostgreSQL the trigger's lock on `tasks`
 * holds writers off until it commits). Released migrations are never edited; add a new file.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

/** SQLite: the upsert that moves the row of (`status`, `type`) by `delta` (one statement, on the primary key). */
function sqliteBump(row: 'new' | 'old', delta: 1 | -1): string {
  return `
    insert into task_counts (status, type, n) values (${row}.status, ${row}.type, ${delta})
    on conflict (status, type) do update set n = n + ${delta};`;
}

export function taskCountsMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      const table = db.schema
        .createTable('task_counts')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('n', 'bigint', (c) => c.notNull());
      // SQLite: one row per key, the key itself the table's b-tree (an upsert touches one b-tree, not two).
      await (
        dialect.name === 'postgres'
          ? table
          : table.addPrimaryKeyConstraint('task_counts_pkey', ['status', 'type']).modifyEnd(sql`without rowid`)
      ).execute();

      if (dialect.name === 'postgres') {
        await sql`create function task_counts_inserted() returns trigger language plpgsql as $$
          begin
            insert into task_counts (status, type, n) select status, type, count(*) from new_rows group by status, type;
            return null;
          end $$`.execute(db);
        await sql`create function task_counts_updated() returns trigger language plpgsql as $$
          begin
            insert into task_counts (status, type, n)
            select status, type, sum(d) from (
              select status, type, 1 as d from new_rows union all select status, type, -1 from old_rows
            ) moved group by status, type having sum(d) <> 0;
            return null;
          end $$`.execute(db);
        await sql`create function task_counts_deleted() returns trigger language plpgsql as $$
          begin
            insert into task_counts (status, type, n) select status, type, -count(*) from old_rows group by status, type;
            return null;
          end $$`.execute(db);
        await sql`create function task_counts_truncated() returns trigger language plpgsql as $$
          begin
            delete from task_counts;
            return null;
          end $$`.execute(db);
        await sql`create trigger task_counts_insert after insert on tasks referencing new table as new_rows
          for each statement execute function task_counts_inserted()`.execute(db);
        await sql`create trigger task_counts_update after update on tasks
          referencing old table as old_rows new table as new_rows
          for each statement execute function task_counts_updated()`.execute(db);
        await sql`create trigger task_counts_delete after delete on tasks referencing old table as old_rows
          for each statement execute function task_counts_deleted()`.execute(db);
        await sql`create trigger task_counts_truncate after truncate on tasks
          for each statement execute function task_counts_truncated()`.execute(db);
      } else {
        await sql
          .raw(`create trigger task_counts_insert after insert on tasks begin ${sqliteBump('new', 1)} end`)
          .execute(db);
        await sql
          .raw(
            `create trigger task_counts_update after update of status, type on tasks
             when old.status is not new.status or old.type is not new.type
             begin ${sqliteBump('old', -1)} ${sqliteBump('new', 1)} end`,
          )
          .execute(db);
        await sql
          .raw(`create trigger task_counts_delete after delete on tasks begin ${sqliteBump('old', -1)} end`)
          .execute(db);
      }

      await sql`insert into task_counts (status, type, n)
        select status, type, count(*) from tasks group by status, type`.execute(db);
    },
  };
}
