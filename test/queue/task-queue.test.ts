import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import { expectCode } from '../support/expect-error.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const SETTINGS: QueueSettings = {
  leaseMs: 10_000,
  heartbeatMs: 1_000,
  maxAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};

describe.each(DIALECTS)('%s: task queue', (dialect) => {
  const t = useTestDatabase(dialect);
  let now: number;
  let queue: TaskQueue;

  beforeEach(() => {
    now = 1_700_000_000_000;
    queue = new TaskQueue(t.handle, SETTINGS, () => now);
  });
  afterEach(async () => {
    await queue.close();
  });

  const enqueue = (type: string, extra: Record<string, unknown> = {}) =>
    queue.enqueue({ type, payload: { n: 1 }, createdBy: 'test', ...extra });

  describe('enqueue', () => {
    it('stores a pending task with defaults and a task.created event', async () => {
      const task = await enqueue('write_spec');
      expect(task).toMatchObject({ type: 'write_spec', status: 'pending', priority: 5, attempts: 0, maxAttempts: 3 });
      expect(task.payload).toEqual({ n: 1 });
      const events = await t.handle.db.selectFrom('events').selectAll().execute();
      expect(events.map((e) => [e.kind, e.subject_id])).toEqual([['task.created', String(task.id)]]);
    });

    it.each([
      [{ type: 'make_coffee' }, 'UNKNOWN_TASK_TYPE'],
      [{ type: 'deploy', priority: 0 }, 'INVALID_PRIORITY'],
      [{ type: 'deploy', priority: 11 }, 'INVALID_PRIORITY'],
      [{ type: 'deploy', priority: 2.5 }, 'INVALID_PRIORITY'],
      [{ type: 'deploy', payload: [1, 2] }, 'INVALID_PAYLOAD'],
      [{ type: 'deploy', payload: 'text' }, 'INVALID_PAYLOAD'],
      [{ type: 'deploy', payload: null }, 'INVALID_PAYLOAD'],
    ] as const)('rejects %j with %s and writes nothing', async (input, code) => {
      await expectCode(queue.enqueue({ createdBy: 'test', ...input } as never), code);
      expect(await t.handle.db.selectFrom('tasks').selectAll().execute()).toEqual([]);
      expect(await t.handle.db.selectFrom('events').selectAll().execute()).toEqual([]);
    });
  });

  describe('claim', () => {
    it('takes the highest priority first, then the oldest', async () => {
      const low = await enqueue('deploy', { priority: 2 });
      now += 1;
      const highOld = await enqueue('deploy', { priority: 9 });
      now += 1;
      const highNew = await enqueue('deploy', { priority: 9 });
      const order = [];
      for (let i = 0; i < 3; i++) order.push((await queue.claim('w1', ['deploy']))?.id);
      expect(order).toEqual([highOld.id, highNew.id, low.id]);
      expect(await queue.claim('w1', ['deploy'])).toBeUndefined();
    });

    it('only claims the requested types and ready tasks', async () => {
      await enqueue('deploy');
      await enqueue('write_spec', { runAfter: now + 5_000 });
      expect(await queue.claim('w1', ['write_spec'])).toBeUndefined();
      expect(await queue.claim('w1', [])).toBeUndefined();
      now += 5_000;
      const claimed = await queue.claim('w1', ['write_spec']);
      expect(claimed).toMatchObject({ type: 'write_spec', status: 'in_progress', attempts: 1, leaseOwner: 'w1' });
      expect(claimed?.leaseExpiresAt).toBe(now + SETTINGS.leaseMs);
    });

    it('never hands one task to two concurrent claimers', async () => {
      for (let i = 0; i < 20; i++) await enqueue('deploy');
      const claims = await Promise.all(
        Array.from({ length: 40 }, (_, i) => queue.claim(`w${i}`, ['deploy']).then((task) => task?.id)),
      );
      const ids = claims.filter((id) => id !== undefined);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
    });
  });

  describe('settling', () => {
    it('completes with a result, only by the lease owner', async () => {
      const task = await enqueue('deploy');
      await queue.claim('w1', ['deploy']);
      await expectCode(queue.complete({ taskId: task.id, workerId: 'intruder' }, { ok: true }), 'LEASE_LOST');
      await queue.complete({ taskId: task.id, workerId: 'w1' }, { ok: true });
      const done = await queue.get(task.id);
      expect(done).toMatchObject({ status: 'completed', result: { ok: true }, leaseOwner: null, finishedAt: now });
      await expectCode(queue.complete({ taskId: task.id, workerId: 'w1' }, {}), 'LEASE_LOST');
    });

    it('completes in the caller transaction: a rollback undoes the completion and the caller writes', async () => {
      const task = await enqueue('write_spec');
      await queue.claim('w1', ['write_spec']);
      await expect(
        t.handle.db.transaction().execute(async (tx) => {
          await queue.complete({ taskId: task.id, workerId: 'w1' }, { spec: 'x' }, tx);
          await queue.enqueue({ type: 'implement_feature', createdBy: 'w1', parentId: task.id }, tx);
          throw new Error('crash before commit');
        }),
      ).rejects.toThrow('crash before commit');
      expect((await queue.get(task.id)).status).toBe('in_progress');
      expect((await queue.list({ type: 'implement_feature' })).tasks).toEqual([]);
    });

    it('retries a failure after an exponential backoff, then dead-letters it as failed', async () => {
      const task = await enqueue('deploy');
      const holder = { taskId: task.id, workerId: 'w1' };
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const claimed = await queue.claim('w1', ['deploy']);
        expect(claimed?.attempts).toBe(attempt);
        const outcome = await queue.fail(holder, `boom ${attempt}`);
        if (attempt < 3) {
          expect(outcome.status).toBe('pending');
          delays.push(outcome.runAfter! - now);
          expect(await queue.claim('w1', ['deploy'])).toBeUndefined();
          now = outcome.runAfter!;
        } else {
          expect(outcome).toEqual({ status: 'failed', runAfter: null });
        }
      }
      expect(delays[0]).toBeGreaterThanOrEqual(1_000);
      expect(delays[0]).toBeLessThanOrEqual(1_100);
      expect(delays[1]).toBeGreaterThanOrEqual(2_000);
      expect(delays[1]).toBeLessThanOrEqual(2_200);
      expect(await queue.get(task.id)).toMatchObject({ status: 'failed', error: 'boom 3', attempts: 3 });
      now += 3_600_000;
      expect(await queue.claim('w1', ['deploy'])).toBeUndefined();
    });

    it('releases without counting the attempt (shutdown, rate limit)', async () => {
      const task = await enqueue('deploy');
      await queue.claim('w1', ['deploy']);
      await queue.release({ taskId: task.id, workerId: 'w1' }, 'rate limited', now + 60_000);
      expect(await queue.get(task.id)).toMatchObject({ status: 'pending', attempts: 0, runAfter: now + 60_000 });
      now += 60_000;
      expect((await queue.claim('w2', ['deploy']))?.attempts).toBe(1);
    });
  });

  describe('leases', () => {
    it('heartbeats extend the lease; an expired lease is reclaimed and run again', async () => {
      const task = await enqueue('deploy');
      await queue.claim('w1', ['deploy']);
      now += 9_000;
      await queue.heartbeat({ taskId: task.id, workerId: 'w1' });
      now += 9_000;
      expect(await queue.reclaimExpired()).toEqual([]);
      now += 2_000;
      expect(await queue.reclaimExpired()).toEqual([task.id]);
      expect(await queue.get(task.id)).toMatchObject({ status: 'pending', leaseOwner: null, attempts: 1 });
      await expectCode(queue.heartbeat({ taskId: task.id, workerId: 'w1' }), 'LEASE_LOST');
      now += 60_000;
      expect((await queue.claim('w2', ['deploy']))?.attempts).toBe(2);
    });

    it('a task whose workers keep dying ends failed after max_attempts', async () => {
      const task = await enqueue('deploy', { maxAttempts: 2 });
      for (let i = 0; i < 2; i++) {
        now += 600_000;
        expect(await queue.claim(`w${i}`, ['deploy'])).toBeDefined();
        now += SETTINGS.leaseMs + 1;
        await queue.reclaimExpired();
      }
      expect(await queue.get(task.id)).toMatchObject({ status: 'failed', attempts: 2 });
    });
  });

  describe('human controls', () => {
    it('cancels a pending task and an in-progress one (whose worker then loses its lease)', async () => {
      const pending = await enqueue('deploy');
      const running = await enqueue('write_spec');
      await queue.claim('w1', ['write_spec']);
      expect((await queue.cancel(pending.id, 'cli')).status).toBe('cancelled');
      expect((await queue.cancel(running.id, 'cli')).status).toBe('cancelled');
      await expectCode(queue.heartbeat({ taskId: running.id, workerId: 'w1' }), 'LEASE_LOST');
      await expectCode(queue.cancel(pending.id, 'cli'), 'TASK_NOT_CANCELLABLE');
      await expectCode(queue.cancel(9_999_999, 'cli'), 'TASK_NOT_FOUND');
    });

    it('retries a failed task by hand with fresh attempts; refuses others', async () => {
      const task = await enqueue('deploy', { maxAttempts: 1 });
      await expectCode(queue.retry(task.id, 'cli'), 'TASK_NOT_RETRYABLE');
      await queue.claim('w1', ['deploy']);
      await queue.fail({ taskId: task.id, workerId: 'w1' }, 'broken');
      expect((await queue.get(task.id)).status).toBe('failed');
      const retried = await queue.retry(task.id, 'cli');
      expect(retried).toMatchObject({ status: 'pending', attempts: 0, error: null });
      expect((await queue.claim('w1', ['deploy']))?.id).toBe(task.id);
      await expectCode(queue.retry(123_456_789, 'cli'), 'TASK_NOT_FOUND');
    });
  });

  describe('reading', () => {
    it('lists newest first with filters and a cursor that walks every page once', async () => {
      for (let i = 0; i < 7; i++) await enqueue(i % 2 ? 'deploy' : 'write_spec');
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await queue.list({ limit: 3, cursor });
        seen.push(...page.tasks.map((task) => task.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect([...seen].sort((a, b) => b - a)).toEqual(seen);
      expect((await queue.list({ type: 'deploy' })).tasks).toHaveLength(3);
      expect((await queue.list({ status: 'completed' })).tasks).toHaveLength(0);
      await expectCode(queue.list({ cursor: 'garbage' }), 'INVALID_CURSOR');
      await expectCode(queue.list({ limit: 0 }), 'VALIDATION_FAILED');
      expect(await queue.countByStatus()).toMatchObject({ pending: 7, completed: 0 });
    });
  });

  describe('wake-up', () => {
    it('an enqueue wakes a waiting worker long before its idle timeout', async () => {
      const started = Date.now();
      const waiting = queue.waitForWork(10_000);
      await new Promise((r) => setTimeout(r, 50));
      await enqueue('deploy');
      await waiting;
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });
});
