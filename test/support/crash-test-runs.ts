/**
 * @module The crash test's side table, `crash_test_runs`: one row per handler run (task, attempt, worker, start) whose
 * `finished_at` is set in the transaction that completes the task. Plain SQL, not a migration: only tests use it.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';

export interface CrashTestRunsTable {
  task_id: number;
  /** `tasks.attempts` at the claim that started this run: unique per task, so (task_id, attempt) is the key. */
  attempt: number;
  worker_id: string;
  started_at: number;
  finished_at: number | null;
}

export type WithCrashTestRuns = Database & { crash_test_runs: CrashTestRunsTable };

export function withCrashTestRuns(db: Kysely<Database>): Kysely<WithCrashTestRuns> {
  return db.withTables<{ crash_test_runs: CrashTestRunsTable }>();
}

/** Creates the table if missing. Create it once before starting workers: concurrent creators race on PostgreSQL. */
export async function createCrashTestRunsTable(db: Kysely<Database>): Promise<void> {
  await sql`
    create table if not exists crash_test_runs (
      task_id bigint not null,
      attempt integer not null,
      worker_id text not null,
      started_at bigint not null,
      finished_at bigint,
      primary key (task_id, attempt)
    )`.execute(db);
}
