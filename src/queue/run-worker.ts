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
import type { DeadLetterHook } from './settle-task.js';
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
  /**
   * Runs in the transaction that dead-letters a task (its last attempt failed here, or its lease expired for good in
   * this worker's reclaim pass). If it throws, the task is still dead-lettered, without it, and the error reported.
   */
  onDeadLetter?: DeadLetterHook;
  /**
   * Called after this worker's reclaim pass (outside any transaction) with the tasks whose expired leases it took
   * back, retried or dead-lettered: the place to close a lost attempt's leftovers (sessions, uncommitted work).
   */
  onReclaimed?: (taskIds: number[]) => Promise<void>;
}

/** When the queue's settings name no reclaim interval (`queue.reclaim_seconds`). */
const DEFAULT_RECLAIM_MS = 5_000;

export async function runWorker(options: WorkerOptions): Promise<void> {
  const { queue, workerId, types, signal } = options;
  const idleWaitMs = options.idleWaitMs ?? 1_000;
  const reclaimMs = queue.settings.reclaimMs ?? DEFAULT_RECLAIM_MS;
  let lastReclaim = 0;
  /** Claimed by the previous task's completion (one commit for both): run it before claiming again. */
  let next: Task | undefined;
  while (!signal.aborted) {
    try {
      if (queue.clock() - lastReclaim >= reclaimMs) {
        lastReclaim = queue.clock();
        const reclaimed = await queue.reclaimExpired(options.onDeadLetter);
        if (reclaimed.length > 0) await options.onReclaimed?.(reclaimed);
      }
      if (next) {
        const task = next;
        next = undefined;
        next = await runOne(options, task);
        continue;
      }
      const pauseMs = await options.pauseClaims?.();
      if (pauseMs !== undefined) {
        await queue.waitForWork(Math.min(pauseMs, 60_000), signal);
        continue;
      }
      const task = await queue.claim(workerId, types);
      if (!task) {
        // Typed: a new task wakes one idle worker of its type, not every loop (task-wakeup.ts).
        await queue.waitForWork(idleWaitMs, signal, types);
        continue;
      }
      next = await runOne(options, task);
    } catch (error) {
      options.onError?.(error);
      // A database hiccup should not spin the loop: wait a little before the next claim.
      await queue.waitForWork(idleWaitMs, signal);
    }
  }
  // Stopped right after a completion claimed the next task: give it back at once, attempt not counted.
  if (next) {
    await queue
      .release({ taskId: next.id, workerId }, 'worker stopped')
      .catch((e: unknown) => options.onError?.(e, next));
  }
}

/**
 * Asked when a task completes: may the completion also claim the worker's next task? Not when stopping, nor when
 * `pauseClaims` asks to wait (then the loop asks again and waits).
 */
async function mayClaimNext(options: WorkerOptions): Promise<boolean> {
  if (options.signal.aborted) return false;
  try {
    return (await options.pauseClaims?.()) === undefined;
  } catch (error) {
    options.onError?.(error);
    return false;
  }
}

/** Runs one claimed task to its end; returns the next task when the completion claimed one. */
async function runOne(options: WorkerOptions, task: Task): Promise<Task | undefined> {
  const { queue, workerId, signal } = options;
  const holder: LeaseHolder = { taskId: task.id, workerId };
  // Not started: a database error here goes to the loop, and the untouched lease runs out and is reclaimed.
  if (!(await leaseStillHeld(queue, task, holder))) return void options.onTaskEnd?.(task, 'lease_lost');
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
    if (leaseLost) return void options.onTaskEnd?.(task, 'lease_lost');
    const { onComplete } = outcome;
    let next: Task | undefined;
    if (onComplete) {
      await queue.handle.db.transaction().execute(async (tx) => {
        await queue.complete(holder, outcome.result, tx);
        await onComplete(tx, task);
      });
    } else if (await mayClaimNext(options)) {
      // Nothing else to commit with it: the completion and the next claim commit together (one statement on
      // PostgreSQL), so a busy worker commits once per task.
      next = await queue.completeAndClaim(holder, outcome.result, options.types);
    } else {
      await queue.complete(holder, outcome.result);
    }
    options.onTaskEnd?.(task, 'completed');
    return next;
  } catch (error) {
    if (leaseLost || (isAutodevError(error) && error.code === 'LEASE_LOST')) {
      return void options.onTaskEnd?.(task, 'lease_lost');
    }
    if (error instanceof ReleaseTask) {
      await queue.release(holder, error.reason, error.runAfter);
      return void options.onTaskEnd?.(task, 'released');
    }
    if (signal.aborted) {
      await queue.release(holder, 'worker stopped').catch((e: unknown) => options.onError?.(e, task));
      return void options.onTaskEnd?.(task, 'released');
    }
    await failWithHook(options, task, holder, errorMessage(error));
    options.onTaskEnd?.(task, 'failed');
    return undefined;
  } finally {
    clearInterval(heartbeat);
    signal.removeEventListener('abort', stop);
  }
}

/**
 * A claimed task can wait before it starts (the loop's reclaim pass, a database outage between the claim and the
 * run) while its lease runs down, and another worker may then have reclaimed it. Renewed before the handler starts
 * when less than half the lease is left, so a task this worker no longer holds is not run a second time at once.
 */
async function leaseStillHeld(queue: TaskQueue, task: Task, holder: LeaseHolder): Promise<boolean> {
  if (task.leaseExpiresAt === null || task.leaseExpiresAt - queue.clock() > queue.settings.leaseMs / 2) return true;
  try {
    await queue.heartbeat(holder);
    return true;
  } catch (error) {
    if (isAutodevError(error) && error.code === 'LEASE_LOST') return false;
    throw error;
  }
}

async function failWithHook(options: WorkerOptions, task: Task, holder: LeaseHolder, error: string): Promise<void> {
  const { queue, onDeadLetter } = options;
  if (!onDeadLetter) {
    await queue.fail(holder, error);
    return;
  }
  try {
    await queue.handle.db.transaction().execute(async (tx) => {
      const outcome = await queue.fail(holder, error, tx);
      if (outcome.status === 'failed') await onDeadLetter(tx, task, error);
    });
  } catch (hookError) {
    if (isAutodevError(hookError) && hookError.code === 'LEASE_LOST') throw hookError;
    // The hook failed and took the failure with it: record the failure alone, and report the hook's error.
    options.onError?.(hookError, task);
    await queue.fail(holder, error);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
