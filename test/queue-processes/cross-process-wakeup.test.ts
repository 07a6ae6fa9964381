/**
 * @module Wake-up across processes: a task enqueued by another process (a CLI `tasks create`, say) reaches a worker
 * idling in this one through the wake-up channel (SQLite: `PRAGMA data_version`; PostgreSQL: NOTIFY), not its
 * idle timeout. Needs the build: the enqueuer is `dist/test/support/queue-enqueue-process.js`.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { builtScript } from '../support/worker-processes.js';

/** Far longer than the bound below: a claim inside the bound can only come from a wake-up. */
const IDLE_WAIT_MS = 30_000;
const WAKE_BOUND_MS = 1_000;

describe.each(DIALECTS)('%s: wake-up across processes', (dialect) => {
  const t = useTestDatabase(dialect);
  const stop = new AbortController();
  let loop: Promise<void> | undefined;
  let queue: TaskQueue | undefined;

  afterEach(async () => {
    stop.abort();
    await loop;
    await queue?.close();
  });

  it(`another process's enqueue wakes an idle worker here within ${WAKE_BOUND_MS} ms`, async () => {
    queue = new TaskQueue(t.handle);
    const claimedAt = new Map<number, number>();
    loop = runWorker({
      queue,
      workerId: 'idle-worker',
      types: ['deploy'],
      signal: stop.signal,
      idleWaitMs: IDLE_WAIT_MS,
      handler: async () => ({ result: null }),
      onTaskStart: (task) => claimedAt.set(task.id, Date.now()),
    });
    // Let the worker find the queue empty and go to sleep on the wake-up channel.
    await sleep(300);

    const { stdout } = await promisify(execFile)(process.execPath, [
      builtScript('test/support/queue-enqueue-process.js'),
      '--database',
      t.databaseUrl ?? t.sqlitePath!,
      '--type',
      'deploy',
    ]);
    const { ids, committedAt } = JSON.parse(stdout) as { ids: number[]; committedAt: number };
    const id = ids[0]!;

    const deadline = Date.now() + 10_000;
    while (!claimedAt.has(id) && Date.now() < deadline) await sleep(10);
    const claimed = claimedAt.get(id);
    if (claimed === undefined) throw new Error(`task ${id} enqueued by another process was not claimed within 10 s`);
    // The enqueuer notes the time after its commit returned, so a fast wake-up can even come out slightly negative.
    expect(claimed - committedAt).toBeLessThan(WAKE_BOUND_MS);
  });
});
