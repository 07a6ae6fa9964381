/**
 * @module The task counters (migration 0022, queue/task-counts.ts) stay exact: a fast-check property runs random
 * sequences of every queue operation that changes a status (enqueue with and without a dedupe key, claim, batched
 * claims, complete, complete-and-claim, fail, release, heartbeat, cancel, retry, reclaim after the clock moves, prune,
 * a hand-written bulk update, a rolled-back transaction, a fold) on the real queue and both engines, and after every
 * operation compares the counters with `count(*) group by status, type`. Plus: the migration's backfill, the read
 * plan (a few counter rows, not the tasks), and folding beside concurrent writers on PostgreSQL.
 */
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AutodevError } from '../../src/errors.js';
import {
  countTasksByStatus,
  countTasksByStatusAndType,
  countTasksQuery,
  foldTaskCounts,
} from '../../src/queue/task-counts.js';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import type { Task } from '../../src/queue/task-record.js';
import { allMigrations } from '../../src/store/migrate.js';
import { pruneOldRows } from '../../src/store/prune.js';
import type { Database } from '../../src/store/schema.js';
import { FUZZ_SEED } from '../fuzz/fuzz-values.js';
import { clearDatabase, DIALECTS, useTestDatabase } from '../support/dialects.js';

const TYPES = ['write_spec', 'review_mr', 'deploy'] as const;
const WORKERS = ['w1', 'w2', 'w3'] as const;
const DAY_MS = 86_400_000;
const SETTINGS: QueueSettings = {
  leaseMs: 60_000,
  heartbeatMs: 15_000,
  reclaimMs: 5_000,
  maxAttempts: 2,
  backoff: { baseMs: 1_000, maxMs: 5_000 },
};

type Op =
  | { op: 'enqueue'; type: number; dedupe: number | null; delayMs: number; maxAttempts: number }
  | { op: 'claim'; worker: number }
  | { op: 'claimMany' }
  | { op: 'complete'; worker: number; inTransaction: boolean }
  | { op: 'completeAndClaim'; worker: number }
  | { op: 'fail'; worker: number }
  | { op: 'release'; worker: number }
  | { op: 'heartbeat'; worker: number }
  | { op: 'cancel'; pick: number }
  | { op: 'retry'; pick: number }
  | { op: 'advance'; ms: number }
  | { op: 'prune' }
  | { op: 'bulkCancel' }
  | { op: 'rolledBack'; type: number }
  | { op: 'fold' };

const worker = fc.nat({ max: WORKERS.length - 1 });
const OPS: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('enqueue' as const),
      type: fc.nat({ max: TYPES.length - 1 }),
      dedupe: fc.option(fc.nat({ max: 3 })),
      delayMs: fc.constantFrom(0, 0, 2_000),
      maxAttempts: fc.constantFrom(1, 2),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('claimMany' as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('complete' as const), worker, inTransaction: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('completeAndClaim' as const), worker }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fail' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('heartbeat' as const), worker }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat({ max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('retry' as const), pick: fc.nat({ max: 20 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(3_000, 61_000, 2 * DAY_MS) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('prune' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('bulkCancel' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('rolledBack' as const), type: fc.nat({ max: TYPES.length - 1 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fold' as const) }) },
);

/** The truth: `count(*)` of the tasks by status and type, as sorted `status/type=n` lines. */
async function scannedCounts(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('tasks')
    .select(['status', 'type', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy(['status', 'type'])
    .execute();
  return rows.map((r) => `${r.status}/${r.type}=${Number(r.n)}`).sort();
}

async function counterCounts(db: Kysely<Database>): Promise<string[]> {
  return (await countTasksByStatusAndType(db)).map((r) => `${r.status}/${r.type}=${r.count}`).sort();
}

/** An operation the queue refuses on purpose (lost lease, wrong status) changes nothing; anything else is a bug. */
async function refusalsAllowed(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof AutodevError)) throw error;
  }
}

describe.each(DIALECTS)('%s: task counters', (dialect) => {
  const t = useTestDatabase(dialect);

  it('equal count(*) by status and type after every operation of random queue histories', async () => {
    const statusesSeen = new Set<string>();
    let pruned = 0;
    const property = fc.asyncProperty(fc.array(OPS, { minLength: 20, maxLength: 40, size: 'max' }), async (ops) => {
      await clearDatabase(t.handle);
      let now = Date.UTC(2026, 0, 1);
      const queue = new TaskQueue(t.handle, SETTINGS, () => now);
      const db = t.handle.db;
      const held = new Map<string, number>();
      const hold = (workerId: string, task: Task | undefined) => {
        if (task) held.set(workerId, task.id);
        else held.delete(workerId);
      };
      const holder = (i: number) => {
        const workerId = WORKERS[i]!;
        const taskId = held.get(workerId);
        return taskId === undefined ? undefined : { workerId, taskId };
      };
      const pickTask = async (pick: number) => {
        const ids = await db.selectFrom('tasks').select('id').orderBy('id').execute();
        return ids.length === 0 ? undefined : ids[pick % ids.length]!.id;
      };
      try {
        for (const [step, op] of ops.entries()) {
          switch (op.op) {
            case 'enqueue':
              await queue.enqueue({
                type: TYPES[op.type]!,
                createdBy: 'property',
                runAfter: now + op.delayMs,
                maxAttempts: op.maxAttempts,
                ...(op.dedupe === null ? {} : { dedupeKey: `key-${op.dedupe}` }),
              });
              break;
            case 'claim':
              hold(WORKERS[op.worker]!, await queue.claim(WORKERS[op.worker]!, TYPES));
              break;
            case 'claimMany': {
              // Concurrent claims: on PostgreSQL several steps go into one batched statement.
              const free = WORKERS.filter((w) => !held.has(w));
              const claimed = await Promise.all(free.map((w) => queue.claim(w, TYPES)));
              free.forEach((w, i) => hold(w, claimed[i]));
              break;
            }
            case 'complete': {
              const h = holder(op.worker);
              if (!h) break;
              held.delete(h.workerId);
              await refusalsAllowed(() =>
                op.inTransaction
                  ? db.transaction().execute((tx) => queue.complete(h, { ok: true }, tx))
                  : queue.complete(h, { ok: true }),
              );
              break;
            }
            case 'completeAndClaim': {
              const h = holder(op.worker);
              if (!h) break;
              held.delete(h.workerId);
              await refusalsAllowed(async () => hold(h.workerId, await queue.completeAndClaim(h, {}, TYPES)));
              break;
            }
            case 'fail': {
              const h = holder(op.worker);
              if (!h) break;
              held.delete(h.workerId);
              await refusalsAllowed(() => queue.fail(h, 'it broke'));
              break;
            }
            case 'release': {
              const h = holder(op.worker);
              if (!h) break;
              held.delete(h.workerId);
              await refusalsAllowed(() => queue.release(h, 'shutdown'));
              break;
            }
            case 'heartbeat': {
              const h = holder(op.worker);
              if (h) await refusalsAllowed(() => queue.heartbeat(h));
              break;
            }
            case 'cancel': {
              const id = await pickTask(op.pick);
              if (id !== undefined) await refusalsAllowed(() => queue.cancel(id, 'property'));
              break;
            }
            case 'retry': {
              const id = await pickTask(op.pick);
              if (id !== undefined) await refusalsAllowed(() => queue.retry(id, 'property'));
              break;
            }
            case 'advance':
              now += op.ms;
              await queue.reclaimExpired();
              break;
            case 'prune':
              // Two days on, so the finished tasks are past the 1-day retention and deleted.
              now += 2 * DAY_MS;
              pruned += (
                await pruneOldRows(
                  db,
                  {
                    finished_tasks_days: 1,
                    events_days: 0,
                    transcripts_days: 0,
                    sessions_days: 0,
                    process_logs_days: 0,
                    batch_size: 2,
                  },
                  { now },
                )
              ).tasks;
              break;
            case 'bulkCancel':
              // Hand-written SQL, past every queue function: the triggers count it too.
              await sql`update tasks set status = 'cancelled', lease_owner = null, lease_expires_at = null,
                finished_at = ${now} where status = 'pending' and id % 2 = 0`.execute(db);
              break;
            case 'rolledBack':
              await expect(
                db.transaction().execute(async (tx) => {
                  await queue.enqueue({ type: TYPES[op.type]!, createdBy: 'property' }, tx);
                  await sql`update tasks set status = 'failed' where status = 'completed'`.execute(tx);
                  throw new Error('roll back');
                }),
              ).rejects.toThrow('roll back');
              break;
            case 'fold':
              await foldTaskCounts(db, t.handle.dialect, 0);
              break;
          }
          const truth = await scannedCounts(db);
          expect(await counterCounts(db), `after step ${step} ${JSON.stringify(op)}`).toEqual(truth);
          for (const line of truth) statusesSeen.add(line.split('/')[0]!);
        }
      } finally {
        await queue.close();
      }
    });
    await fc.assert(property, { seed: FUZZ_SEED, numRuns: 15, endOnFailure: true });
    // The histories reached every status, so every kind of move was compared.
    if (statusesSeen.size < 5) throw new Error(`only ${[...statusesSeen].join(', ')} reached`);
    expect(pruned, 'some histories pruned finished tasks').toBeGreaterThan(0);
    expect([...statusesSeen].sort()).toEqual(['cancelled', 'completed', 'failed', 'in_progress', 'pending']);
    // 15 histories of up to 40 queue operations, each compared with count(*): ~10 s on a quiet machine, 31 s with
    // both CPUs taken by a hog (the default 30 s limit is for ordinary tests).
  }, 120_000);

  it('folds the counter rows into one per status and type, and reads only them', async () => {
    const { db } = t.handle;
    const queue = new TaskQueue(t.handle, SETTINGS);
    try {
      for (let i = 0; i < 30; i++) await queue.enqueue({ type: TYPES[i % 3]!, createdBy: 'test' });
      for (let i = 0; i < 10; i++) {
        const task = await queue.claim('w1', TYPES);
        await queue.complete({ workerId: 'w1', taskId: task!.id }, {});
      }
      const before = await counterCounts(db);
      expect(before).toEqual(await scannedCounts(db));
      expect(await countTasksByStatus(db)).toEqual({
        pending: 20,
        in_progress: 0,
        completed: 10,
        failed: 0,
        cancelled: 0,
      });
      // Below the threshold nothing is rewritten; at 0 every row is folded.
      expect(await foldTaskCounts(db, t.handle.dialect, 10_000)).toBe(0);
      const rows = Number((await sql<{ n: number }>`select count(*) as n from task_counts`.execute(db)).rows[0]!.n);
      expect(await foldTaskCounts(db, t.handle.dialect, 0)).toBe(rows);
      expect(await counterCounts(db)).toEqual(before);
      const after = await sql<{ status: string; type: string; rows: number | string }>`
        select status, type, count(*) as rows from task_counts group by status, type`.execute(db);
      expect(after.rows.every((r) => Number(r.rows) === 1)).toBe(true);
      // A key that went back to zero has no row at all after the fold (pending review_mr etc. are still there).
      expect(after.rows.filter((r) => r.status === 'in_progress')).toEqual([]);

      const compiled = countTasksQuery(db).compile();
      expect(compiled.sql).toMatch(/from "task_counts"/);
      expect(compiled.sql).not.toMatch(/"tasks"/);
    } finally {
      await queue.close();
    }
  });

  it('backfills the counters from the existing tasks when the migration runs, and counts on from there', async () => {
    const { db } = t.handle;
    const queue = new TaskQueue(t.handle, SETTINGS);
    try {
      for (let i = 0; i < 12; i++) await queue.enqueue({ type: TYPES[i % 2]!, createdBy: 'test' });
      await queue.cancel(1, 'test');
      // Undo 0022 (its triggers, functions and table), then run it again over the tasks as they are.
      for (const trigger of ['insert', 'update', 'delete', ...(dialect === 'postgres' ? ['truncate'] : [])]) {
        await sql.raw(`drop trigger task_counts_${trigger}${dialect === 'postgres' ? ' on tasks' : ''}`).execute(db);
      }
      if (dialect === 'postgres') {
        for (const fn of ['inserted', 'updated', 'deleted', 'truncated'])
          await sql.raw(`drop function task_counts_${fn}()`).execute(db);
      }
      await sql`drop table task_counts`.execute(db);
      await db.transaction().execute((tx) => allMigrations(t.handle.dialect)['0022-task-counts']!.up(tx));

      expect(await counterCounts(db)).toEqual([
        'cancelled/write_spec=1',
        'pending/review_mr=6',
        'pending/write_spec=5',
      ]);
      const task = await queue.claim('w1', TYPES);
      await queue.fail({ workerId: 'w1', taskId: task!.id }, 'broke');
      await queue.enqueue({ type: 'deploy', createdBy: 'test' });
      expect(await counterCounts(db)).toEqual(await scannedCounts(db));
    } finally {
      await queue.close();
    }
  });

  if (dialect === 'postgres') {
    it('stays exact while folds run beside concurrent writers on separate connections', async () => {
      const { db } = t.handle;
      const queue = new TaskQueue(t.handle, SETTINGS);
      try {
        const writers = Array.from({ length: 4 }, (_, w) =>
          (async () => {
            for (let i = 0; i < 40; i++) {
              await queue.enqueue({ type: TYPES[(w + i) % 3]!, createdBy: `writer-${w}` });
              const task = await queue.claim(`w-${w}`, TYPES);
              if (task) await queue.complete({ workerId: `w-${w}`, taskId: task.id }, {});
            }
          })(),
        );
        let folding = true;
        const folds = (async () => {
          let rounds = 0;
          while (folding || rounds < 3) {
            await Promise.all([foldTaskCounts(db, t.handle.dialect, 0), foldTaskCounts(db, t.handle.dialect, 0)]);
            rounds++;
          }
          return rounds;
        })();
        await Promise.all(writers);
        folding = false;
        expect(await folds).toBeGreaterThanOrEqual(3);
        expect(await counterCounts(db)).toEqual(await scannedCounts(db));
        const byStatus = await countTasksByStatus(db);
        expect(byStatus.completed + byStatus.pending).toBe(160);
      } finally {
        await queue.close();
      }
      // 480 queue statements against folds that lock the counters: 31 s seen with both CPUs taken by a hog.
    }, 120_000);
  }
});
