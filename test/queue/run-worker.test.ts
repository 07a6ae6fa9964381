/**
 * @module The worker loop in-process, on both engines: how a handler's outcome (result, thrown error, abort, lost
 * lease, `onComplete` writes) becomes the task's next state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AutodevError } from '../../src/errors.js';
import { runWorker, type TaskHandler, type WorkerOptions } from '../../src/queue/run-worker.js';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import type { Task } from '../../src/queue/task-record.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const SETTINGS: QueueSettings = {
  leaseMs: 5_000,
  heartbeatMs: 50,
  maxAttempts: 3,
  // Long enough that a failed task is never retried while a test runs.
  backoff: { baseMs: 60_000, maxMs: 120_000 },
};

type Ending = Parameters<NonNullable<WorkerOptions['onTaskEnd']>>[1];

/** Polls until `check` returns a value, or fails with `what` after `timeoutMs`. */
async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe.each(DIALECTS)('%s: run worker', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  let stop: AbortController;
  let loop: Promise<void> | undefined;
  let endings: Map<number, Ending>;
  let errors: unknown[];

  beforeEach(() => {
    queue = new TaskQueue(t.handle, SETTINGS);
    stop = new AbortController();
    loop = undefined;
    endings = new Map();
    errors = [];
  });
  afterEach(async () => {
    stop.abort();
    await loop;
    await queue.close();
  });

  const start = (handler: TaskHandler) => {
    loop = runWorker({
      queue,
      workerId: 'w1',
      types: ['deploy'],
      handler,
      signal: stop.signal,
      idleWaitMs: 200,
      onError: (error) => errors.push(error),
      onTaskEnd: (task, ending) => endings.set(task.id, ending),
    });
  };
  const enqueue = (extra: { maxAttempts?: number } = {}) =>
    queue.enqueue({ type: 'deploy', payload: { n: 1 }, createdBy: 'test', ...extra });
  const endingOf = (task: Task) => waitFor(`task ${task.id} to end`, () => endings.get(task.id));
  const eventKinds = async (task: Task) =>
    (
      await t.handle.db
        .selectFrom('events')
        .select('kind')
        .where('subject_type', '=', 'task')
        .where('subject_id', '=', String(task.id))
        .orderBy('id')
        .execute()
    ).map((e) => e.kind);

  it('completes the task with the result the handler returns', async () => {
    const task = await enqueue();
    start(async (claimed) => ({ result: { deployed: claimed.payload.n } }));
    expect(await endingOf(task)).toBe('completed');
    expect(await queue.get(task.id)).toMatchObject({
      status: 'completed',
      result: { deployed: 1 },
      attempts: 1,
      leaseOwner: null,
      error: null,
    });
    const events = await t.handle.db
      .selectFrom('events')
      .select(['kind', 'actor', 'data'])
      .where('subject_type', '=', 'task')
      .where('subject_id', '=', String(task.id))
      .orderBy('id')
      .execute();
    // On PostgreSQL the claim and completion write their event in the same statement; same content either way.
    expect(events.map((e) => ({ ...e, data: JSON.parse(e.data) as unknown }))).toEqual([
      { kind: 'task.created', actor: 'test', data: { type: 'deploy', priority: 5, status: 'pending' } },
      { kind: 'task.claimed', actor: 'w1', data: { type: 'deploy', attempt: 1, status: 'in_progress' } },
      { kind: 'task.completed', actor: 'w1', data: { status: 'completed' } },
    ]);
    expect(errors).toEqual([]);
  });

  it('fails the attempt when the handler throws: retried after a backoff, dead-lettered on the last attempt', async () => {
    const retried = await enqueue();
    const dead = await enqueue({ maxAttempts: 1 });
    start(async () => {
      throw new Error('deploy target unreachable');
    });
    expect(await endingOf(retried)).toBe('failed');
    expect(await endingOf(dead)).toBe('failed');
    const retry = await queue.get(retried.id);
    expect(retry).toMatchObject({
      status: 'pending',
      attempts: 1,
      error: 'deploy target unreachable',
      leaseOwner: null,
    });
    // First retry after baseMs, plus at most 10% jitter.
    expect(retry.runAfter - retry.updatedAt).toBeGreaterThanOrEqual(60_000);
    expect(retry.runAfter - retry.updatedAt).toBeLessThanOrEqual(66_000);
    expect(await queue.get(dead.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'deploy target unreachable',
    });
    expect(await eventKinds(retried)).toEqual(['task.created', 'task.claimed', 'task.retry_scheduled']);
    expect(await eventKinds(dead)).toEqual(['task.created', 'task.claimed', 'task.failed']);
  });

  it('stopping the worker aborts the handler and releases its task without counting the attempt', async () => {
    const task = await enqueue();
    let seenAbort: unknown;
    let running = false;
    start(async (_task, { signal }) => {
      running = true;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      seenAbort = signal.reason;
      throw signal.reason;
    });
    await waitFor('the handler to start', () => (running ? true : undefined));
    stop.abort();
    await loop;
    expect(endings.get(task.id)).toBe('released');
    expect((seenAbort as Error).message).toBe('worker stopping');
    expect(await queue.get(task.id)).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null });
    expect(await eventKinds(task)).toEqual(['task.created', 'task.claimed', 'task.released']);
  });

  it('cancelling a running task aborts its handler at the next heartbeat, and the worker moves on', async () => {
    const cancelled = await enqueue();
    let seenAbort: unknown;
    start(async (task, { signal }) => {
      if (task.id !== cancelled.id) return { result: 'next' };
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      seenAbort = signal.reason;
      throw signal.reason;
    });
    await waitFor('the claim', async () =>
      (await queue.get(cancelled.id)).status === 'in_progress' ? true : undefined,
    );
    await queue.cancel(cancelled.id, 'test', 'no longer wanted');
    expect(await endingOf(cancelled)).toBe('lease_lost');
    expect(seenAbort).toBeInstanceOf(AutodevError);
    expect((seenAbort as AutodevError).code).toBe('LEASE_LOST');
    // The worker wrote nothing over the human's decision.
    expect(await queue.get(cancelled.id)).toMatchObject({
      status: 'cancelled',
      error: 'no longer wanted',
      attempts: 1,
    });
    expect(await eventKinds(cancelled)).toEqual(['task.created', 'task.claimed', 'task.cancelled']);
    const next = await enqueue();
    expect(await endingOf(next)).toBe('completed');
  });

  it('commits onComplete writes in the transaction that completes the task', async () => {
    const parent = await enqueue();
    start(async () => ({
      result: { spec: 'done' },
      onComplete: async (tx, task) => {
        await queue.enqueue({ type: 'implement_feature', parentId: task.id, createdBy: 'w1' }, tx);
      },
    }));
    expect(await endingOf(parent)).toBe('completed');
    expect((await queue.get(parent.id)).status).toBe('completed');
    const children = await queue.list({ type: 'implement_feature' });
    expect(children.tasks.map((c) => c.parentId)).toEqual([parent.id]);
  });

  it('a throwing onComplete rolls back the completion and everything onComplete wrote', async () => {
    const parent = await enqueue();
    start(async () => ({
      result: { spec: 'done' },
      onComplete: async (tx, task) => {
        await queue.enqueue({ type: 'implement_feature', parentId: task.id, createdBy: 'w1' }, tx);
        throw new Error('workflow step failed');
      },
    }));
    // The error counts as a failed attempt of the task: it is not completed, and will run again after the backoff.
    expect(await endingOf(parent)).toBe('failed');
    expect(await queue.get(parent.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      error: 'workflow step failed',
      result: null,
      finishedAt: null,
    });
    expect((await queue.list({ type: 'implement_feature' })).tasks).toEqual([]);
    expect(await eventKinds(parent)).toEqual(['task.created', 'task.claimed', 'task.retry_scheduled']);
  });

  it('a task whose lease ran out between its claim and its start is not run: its ending is lease_lost', async () => {
    // The second task is claimed by the first one's completion; then the clock jumps past its lease, as a stalled
    // worker's or a database outage's would, and the loop's own reclaim pass takes the task back before it starts.
    let offset = 0;
    const clockQueue = new TaskQueue(t.handle, SETTINGS, () => Date.now() + offset);
    const first = await clockQueue.enqueue({ type: 'deploy', payload: { n: 1 }, createdBy: 'test' });
    const second = await clockQueue.enqueue({ type: 'deploy', payload: { n: 2 }, createdBy: 'test' });
    const ran: number[] = [];
    loop = runWorker({
      queue: clockQueue,
      workerId: 'w1',
      types: ['deploy'],
      handler: async (task) => {
        ran.push(task.id);
        return { result: null };
      },
      signal: stop.signal,
      idleWaitMs: 200,
      onError: (error) => errors.push(error),
      onTaskEnd: (task, ending) => {
        endings.set(task.id, ending);
        if (task.id === first.id) offset = 2 * SETTINGS.leaseMs;
      },
    });
    expect(await endingOf(first)).toBe('completed');
    expect(await endingOf(second)).toBe('lease_lost');
    expect(ran).toEqual([first.id]);
    expect(await clockQueue.get(second.id)).toMatchObject({ status: 'pending', attempts: 1, leaseOwner: null });
    expect(await eventKinds(second)).toEqual(['task.created', 'task.claimed', 'task.lease_expired']);
    expect(errors).toEqual([]);
    stop.abort();
    await loop;
    await clockQueue.close();
  });
});
