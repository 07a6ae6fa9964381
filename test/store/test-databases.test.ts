/**
 * @module The suite's own PostgreSQL test databases (`test/support/dialects.ts`): a test process recycles a dropped
 * clone only when it is as good as a fresh one. A recycled database has no rows, its ids start again at 1 and its
 * old name is gone; one whose schema a test changed is dropped, never handed out again.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/dialects.js';

async function databaseOid(t: TestDatabase): Promise<number> {
  const { rows } = await sql<{
    oid: number;
  }>`select oid::int as oid from pg_database where datname = current_database()`.execute(t.handle.db);
  return rows[0]!.oid;
}

async function databaseExists(t: TestDatabase, oid: number): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_database where oid = ${oid}`.execute(
    t.handle.db,
  );
  return rows[0]!.n === 1;
}

describe.runIf(DIALECTS.includes('postgres'))('postgres: recycled test databases', () => {
  it('a dropped clone comes back empty under a new name, its ids from 1; one with a changed schema is dropped', async () => {
    const first = await createTestDatabase('postgres');
    const queue = new TaskQueue(first.handle, DEFAULT_QUEUE_SETTINGS);
    for (let i = 0; i < 3; i++) await queue.enqueue({ type: 'write_spec', createdBy: 'test' });
    await queue.close();
    const firstOid = await databaseOid(first);
    const firstUrl = first.databaseUrl;
    await first.drop();

    // The most recently dropped clone is the next one handed out (the pool is per process and last in, first out).
    const second = await createTestDatabase('postgres');
    try {
      expect(await databaseOid(second)).toBe(firstOid);
      expect(second.databaseUrl).not.toBe(firstUrl);
      const { rows: names } = await sql<{ n: number }>`select count(*)::int as n from pg_database
        where datname = ${new URL(firstUrl!).pathname.slice(1)}`.execute(second.handle.db);
      expect(names[0]!.n).toBe(0);
      expect(await second.handle.db.selectFrom('tasks').select('id').execute()).toEqual([]);
      expect(await second.handle.db.selectFrom('events').select('id').execute()).toEqual([]);
      const again = new TaskQueue(second.handle, DEFAULT_QUEUE_SETTINGS);
      expect((await again.enqueue({ type: 'write_spec', createdBy: 'test' })).id).toBe(1);
      await again.close();

      // A test that adds a trigger leaves a database nobody gets again.
      await sql`create function recycled_test_refuse() returns trigger language plpgsql
        as $$ begin raise exception 'refused'; end $$`.execute(second.handle.db);
      await sql`create trigger recycled_test_refuse before update on tasks
        for each row execute function recycled_test_refuse()`.execute(second.handle.db);
    } finally {
      await second.drop();
    }
    const third = await createTestDatabase('postgres');
    try {
      expect(await databaseOid(third)).not.toBe(firstOid);
      expect(await databaseExists(third, firstOid)).toBe(false);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_trigger
        where tgname = 'recycled_test_refuse'`.execute(third.handle.db);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await third.drop();
    }
  });
});
