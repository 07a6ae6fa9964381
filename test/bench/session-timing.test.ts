/**
 * @module The session-overhead benchmark's instruments (bench/session-timing.ts): the busy time of overlapping
 * intervals, and the timed database handle, which must log every query and transaction on both engines while
 * behaving as the handle it wraps (a transaction still commits or rolls back as one).
 */
import { describe, expect, it } from 'vitest';
import { busyWithin, timedDatabase, type DbInterval } from '../../bench/session-timing.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

describe('busyWithin', () => {
  it('counts overlapping intervals once and clips them to the window', () => {
    const intervals = [
      { start: 0, end: 10 },
      { start: 5, end: 15 },
      { start: 20, end: 30 },
      { start: 40, end: 50 },
    ];
    expect(busyWithin(intervals, { start: 0, end: 100 })).toBe(15 + 10 + 10);
    expect(busyWithin(intervals, { start: 8, end: 25 })).toBe(7 + 5);
    expect(busyWithin(intervals, { start: 31, end: 39 })).toBe(0);
    expect(busyWithin([], { start: 0, end: 1 })).toBe(0);
  });

  it('counts an interval nested in another once', () => {
    expect(
      busyWithin(
        [
          { start: 0, end: 100 },
          { start: 10, end: 20 },
        ],
        { start: 0, end: 100 },
      ),
    ).toBe(100);
  });
});

describe.each(DIALECTS)('%s: timedDatabase', (dialect) => {
  const t = useTestDatabase(dialect);

  it('logs each query with its table and each transaction, and the queue works through it as usual', async () => {
    const log: DbInterval[] = [];
    const queue = new TaskQueue(timedDatabase(t.handle, log));
    try {
      const task = await queue.enqueue({ type: 'review_mr', payload: { title: 'x' }, createdBy: 'test' });
      await queue.handle.db.transaction().execute(async (tx) => {
        await tx.selectFrom('tasks').select('id').where('id', '=', task.id).execute();
      });
      const kinds = log.map((entry) => entry.what);
      expect(kinds).toContain('insert tasks');
      expect(kinds).toContain('select tasks');
      expect(kinds).toContain('transaction');
      for (const entry of log) expect(entry.end).toBeGreaterThanOrEqual(entry.start);
      // The select ran inside the logged transaction.
      const select = log.find((entry) => entry.what === 'select tasks')!;
      const transaction = log.filter((entry) => entry.what === 'transaction').at(-1)!;
      expect(select.start).toBeGreaterThanOrEqual(transaction.start);
      expect(select.end).toBeLessThanOrEqual(transaction.end);
    } finally {
      await queue.close();
    }
  });

  it('rolls a failed transaction back and logs it', async () => {
    const log: DbInterval[] = [];
    const handle = timedDatabase(t.handle, log);
    const queue = new TaskQueue(handle);
    try {
      await expect(
        handle.db.transaction().execute(async (tx) => {
          await queue.enqueue({ type: 'review_mr', payload: { title: 'x' }, createdBy: 'test' }, tx);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await t.handle.db.selectFrom('tasks').select('id').execute()).toEqual([]);
      expect(log.map((entry) => entry.what)).toContain('transaction');
    } finally {
      await queue.close();
    }
  });
});
