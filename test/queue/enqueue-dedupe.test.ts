import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { expectCode } from '../support/expect-error.js';

const SETTINGS: QueueSettings = {
  leaseMs: 10_000,
  heartbeatMs: 1_000,
  maxAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};

describe.each(DIALECTS)('%s: enqueue with a dedupe key', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;

  beforeEach(() => {
    queue = new TaskQueue(t.handle, SETTINGS, () => 1_700_000_000_000);
  });
  afterEach(async () => {
    await queue.close();
  });

  it('creates the task once and returns the existing one afterwards, whatever its status', async () => {
    const first = await queue.enqueueOnce({ type: 'implement_fix', createdBy: 'test', dedupeKey: 'gitlab:x:1' });
    expect(first.created).toBe(true);
    await queue.cancel(first.task.id, 'test', 'not needed');
    const again = await queue.enqueueOnce({
      type: 'implement_fix',
      createdBy: 'other',
      payload: { different: true },
      dedupeKey: 'gitlab:x:1',
    });
    expect(again).toMatchObject({ created: false, task: { id: first.task.id, status: 'cancelled', payload: {} } });
    const rows = await t.handle.db.selectFrom('tasks').select(['id']).execute();
    expect(rows).toHaveLength(1);
    const events = await t.handle.db.selectFrom('events').select('kind').where('kind', '=', 'task.created').execute();
    expect(events).toHaveLength(1);
  });

  it('keeps tasks without a key apart (NULLs never collide)', async () => {
    await queue.enqueue({ type: 'deploy', createdBy: 'test' });
    await queue.enqueue({ type: 'deploy', createdBy: 'test' });
    expect(await t.handle.db.selectFrom('tasks').select('id').execute()).toHaveLength(2);
  });

  it('creates one task when many enqueue the same key at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => queue.enqueueOnce({ type: 'deploy', createdBy: 'test', dedupeKey: 'race' })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
  });

  it('refuses an empty or over-long key and writes nothing', async () => {
    await expectCode(queue.enqueue({ type: 'deploy', createdBy: 'test', dedupeKey: '' }), 'VALIDATION_FAILED');
    await expectCode(
      queue.enqueue({ type: 'deploy', createdBy: 'test', dedupeKey: 'k'.repeat(201) }),
      'VALIDATION_FAILED',
    );
    expect(await t.handle.db.selectFrom('tasks').select('id').execute()).toHaveLength(0);
  });
});
