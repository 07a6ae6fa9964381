/**
 * @module The worker loop: claim a task of my types, hold its lease with heartbeats while the handler runs, then
 * complete or fail it. Idle workers sleep on the wake-up channel, not on a busy poll. Stopping (the signal aborts)
 * lets the running handler see the abort and gives its task back without counting an attempt.
 * It knows nothing of agents or LLMs: the handler is any async function.
 */
import type { Kysely } from 'kysely';
import { isAutodevError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { LeaseHolder } from './lease.js';
import type { Task } from './task-record.js';
import type { TaskQueue } from './task-queue.js';

export interface TaskContext {
  /** Aborts when the lease is lost (task cancelled or reclaimed) or the worker is stopping. */
  signal: AbortSignal;
  holder: LeaseHolder;
}

/** What a handler may return to write more in the transaction that completes its task. */
export interface HandlerOutcome {
  result: unknown;
  /** Runs inside the completing transaction: tasks started by this one, workflow changes, ... */
  onComplete?: (tx: Kysely<Database>, task: Task) => Promise<void>;
}

export type TaskHandler = (task: Task, context: TaskContext) => Promise<HandlerOutcome>;

/**
 * Thrown by a handler to give its task back without counting the attempt, to run again at `runAfter`: a provider
 * rate limit is not a failure.
 */
export class ReleaseTask extends Error {
  constructor(
    readonly reason: string,
    readonly runAfter: number,
  ) {
    super(reason);
    this.name = 'ReleaseTask';
  }
}

export interface WorkerOptions {
  queue: TaskQueue;
  workerId: string;
  types: readonly string[];
  handler: TaskHandler;
  /** Stops the loop; the current task is released back to the queue. */
  signal: AbortSignal;
  /** Longest sleep between claims when no wake-up arrives (delayed retries become ready this way). */
  idleWaitMs?: number;
  /** Called on every loop-level error so the caller can log it; the loop keeps going. */
  onError?: (error: unknown, task?: Task) => void;
  /**
   * Asked before each claim: a number of ms to wait instead of claiming (e.g. the daily token budget is spent), or
   * undefined to go ahead.
   */
  pauseClaims?: () => Promise<number | undefined>;
  /** Called when a task is claimed and when it is settled, for status rows and logs. */
  onTaskStart?: (task: Task) => void;
  onTaskEnd?: (task: Task, outcome: 'completed' | 'failed' | 'released' | 'lease_lost') => void;
}

const RECLAIM_EVERY_MS = 5_000;

export async function runWorker(options: WorkerOptions): Promise<void> {
  const { queue, workerId, types, signal } = options;
  const idleWaitMs = options.idleWaitMs ?? 1_000;
  let lastReclaim = 0;
  while (!signal.aborted) {
    try {
      if (queue.clock() - lastReclaim >= RECLAIM_EVERY_MS) {
        lastReclaim = queue.clock();
        await queue.reclaimExpired();
      }
      const pauseMs = await options.pauseClaims?.();
      if (pauseMs !== undefined) {
        await queue.waitForWork(Math.min(pauseMs, 60_000), signal);
        continue;
      }
      const task = await queue.claim(workerId, types);
      if (!task) {
        await queue.waitForWork(idleWaitMs, signal);
        continue;
      }
      await runOne(options, task);
    } catch (error) {
      options.onError?.(error);
      // A database hiccup should not spin the loop: wait a little before the next claim.
      await queue.waitForWork(idleWaitMs, signal);
    }
  }
}

async function runOne(options: WorkerOptions, task: Task): Promise<void> {
  const { queue, workerId, signal } = options;
  const holder: LeaseHolder = { taskId: task.id, workerId };
  const taskAbort = new AbortController();
  let leaseLost = false;
  const stop = () => taskAbort.abort(new Error('worker stopping'));
  signal.addEventListener('abort', stop, { once: true });
  const heartbeat = setInterval(() => {
    queue.heartbeat(holder).catch((error: unknown) => {
      if (isAutodevError(error) && error.code === 'LEASE_LOST') {
        leaseLost = true;
        taskAbort.abort(error);
      } else {
        options.onError?.(error, task);
      }
    });
  }, queue.settings.heartbeatMs);
  options.onTaskStart?.(task);
  try {
    const outcome = await options.handler(task, { signal: taskAbort.signal, holder });
    if (leaseLost) return options.onTaskEnd?.(task, 'lease_lost');
    const { onComplete } = outcome;
    if (onComplete) {
      await queue.handle.db.transaction().execute(async (tx) => {
        await queue.complete(holder, outcome.result, tx);
        await onComplete(tx, task);
      });
    } else {
      // Nothing else to commit with it: the completion alone is atomic (one statement on PostgreSQL).
      await queue.complete(holder, outcome.result);
    }
    options.onTaskEnd?.(task, 'completed');
  } catch (error) {
    if (leaseLost || (isAutodevError(error) && error.code === 'LEASE_LOST')) {
      return options.onTaskEnd?.(task, 'lease_lost');
    }
    if (error instanceof ReleaseTask) {
      await queue.release(holder, error.reason, error.runAfter);
      return options.onTaskEnd?.(task, 'released');
    }
    if (signal.aborted) {
      await queue.release(holder, 'worker stopped').catch((e: unknown) => options.onError?.(e, task));
      return options.onTaskEnd?.(task, 'released');
    }
    await queue.fail(holder, errorMessage(error));
    options.onTaskEnd?.(task, 'failed');
  } finally {
    clearInterval(heartbeat);
    signal.removeEventListener('abort', stop);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
