/**
 * @module The queue as one object: the operations of this folder bound to a database, its settings, its clock and
 * its wake-up channel. Workers, the CLI and the server use this; the SQL lives in the operation files.
 *
 * ### Examples
 * ```ts
 * const queue = new TaskQueue(handle, DEFAULT_QUEUE_SETTINGS);
 * const task = await queue.enqueue({ type: 'write_spec', payload: { story: 12 }, createdBy: 'cli' });
 * const claimed = await queue.claim('worker-1', ['write_spec']);
 * await queue.complete({ taskId: claimed!.id, workerId: 'worker-1' }, { spec: '...' });
 * ```
 */
import type { Kysely } from 'kysely';
import { inTransaction } from '../store/in-transaction.js';
import type { DatabaseHandle } from '../store/open-database.js';
import type { Database } from '../store/schema.js';
import type { BackoffSettings } from './backoff.js';
import { claimNextTask } from './claim-task.js';
import { completeAndClaimNext } from './complete-and-claim.js';
import { enqueueTaskOnce, type EnqueuedTask, type NewTask } from './enqueue-task.js';
import { leaseLost, type LeaseHolder } from './lease.js';
import { runWorkerStepsOnPostgres } from './postgres-statements.js';
import { countTasksByStatus, getTask, listTasks, type TaskFilter, type TaskPage } from './read-tasks.js';
import { reclaimExpiredLeases } from './reclaim-expired-leases.js';
import { foldTaskCounts } from './task-counts.js';
import { completeTask, failTask, heartbeatTask, releaseTask, type DeadLetterHook } from './settle-task.js';
import { cancelTask, retryTask } from './task-controls.js';
import type { Task } from './task-record.js';
import { createTaskWakeup, type TaskWakeup } from './task-wakeup.js';
import { WorkerStepBatcher } from './worker-step-batcher.js';

export interface QueueSettings {
  /** How long a claim holds a task without a heartbeat. */
  leaseMs: number;
  /** How often a worker renews its lease; well under leaseMs. */
  heartbeatMs: number;
  /** How often each worker loop returns expired leases to the queue (`queue.reclaim_seconds`); default 5 s. */
  reclaimMs?: number;
  /** Attempts before a task is dead-lettered as `failed`. */
  maxAttempts: number;
  backoff: BackoffSettings;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  leaseMs: 60_000,
  heartbeatMs: 15_000,
  reclaimMs: 5_000,
  maxAttempts: 3,
  backoff: { baseMs: 5_000, maxMs: 15 * 60_000 },
};

export class TaskQueue {
  readonly wakeup: TaskWakeup;
  /** PostgreSQL: this process's workers' claims and completions, batched into shared commits. */
  private readonly steps: WorkerStepBatcher | undefined;
  /** When this process last folded the task counters (task-counts.ts), at most once a reclaim interval. */
  private lastFold = 0;

  constructor(
    readonly handle: DatabaseHandle,
    readonly settings: QueueSettings = DEFAULT_QUEUE_SETTINGS,
    readonly clock: () => number = Date.now,
  ) {
    this.wakeup = createTaskWakeup(handle);
    this.steps = handle.dialect.supportsDataModifyingCte
      ? new WorkerStepBatcher((types, steps) =>
          runWorkerStepsOnPostgres(this.db, steps, { types, now: this.clock(), leaseMs: this.settings.leaseMs }),
        )
      : undefined;
  }

  private get db(): Kysely<Database> {
    return this.handle.db;
  }

  /** Enqueues in `db` (pass a transaction to make the task part of a larger change) and wakes workers. */
  async enqueue(input: NewTask, db: Kysely<Database> = this.db): Promise<Task> {
    return (await this.enqueueOnce(input, db)).task;
  }

  /** Enqueues like `enqueue` and says whether the task is new (with a `dedupeKey` it may have existed). */
  enqueueOnce(input: NewTask, db: Kysely<Database> = this.db): Promise<EnqueuedTask> {
    return inTransaction(db, async (tx) => {
      const enqueued = await enqueueTaskOnce(tx, input, {
        now: this.clock(),
        defaultMaxAttempts: this.settings.maxAttempts,
      });
      if (enqueued.created) await this.wakeup.notify(tx, { type: enqueued.task.type, taskId: enqueued.task.id });
      return enqueued;
    });
  }

  /** Claims the next ready task of `types` for `workerId`, under a lease; undefined when none is ready. */
  async claim(workerId: string, types: readonly string[]): Promise<Task | undefined> {
    if (this.steps && types.length > 0) return (await this.steps.step(types, { workerId })).next;
    return claimNextTask(this.db, this.handle.dialect, {
      workerId,
      types,
      leaseMs: this.settings.leaseMs,
      now: this.clock(),
    });
  }

  heartbeat(holder: LeaseHolder): Promise<void> {
    return heartbeatTask(this.db, holder, { leaseMs: this.settings.leaseMs, now: this.clock() });
  }

  /** Completes in `db` (pass a transaction to commit the caller's writes with it); atomic either way. */
  complete(holder: LeaseHolder, result: unknown, db: Kysely<Database> = this.db): Promise<void> {
    return completeTask(db, this.handle.dialect, holder, { result, now: this.clock() });
  }

  /**
   * Completes the held task and claims the next one of `types` for the same worker, in one commit (the busy
   * worker's path: half the commits per task; on PostgreSQL shared with other workers' steps). Undefined when
   * nothing was ready; LEASE_LOST claims nothing.
   */
  async completeAndClaim(holder: LeaseHolder, result: unknown, types: readonly string[]): Promise<Task | undefined> {
    if (this.steps && types.length > 0) {
      const completes = { taskId: holder.taskId, result: JSON.stringify(result ?? null) };
      const outcome = await this.steps.step(types, { workerId: holder.workerId, completes });
      if (!outcome.completed) throw leaseLost(holder);
      return outcome.next;
    }
    return completeAndClaimNext(this.db, this.handle.dialect, holder, {
      result,
      types,
      now: this.clock(),
      leaseMs: this.settings.leaseMs,
    });
  }

  /** Records a failed attempt; the task is retried after a backoff or, out of attempts, ends `failed`. */
  fail(holder: LeaseHolder, error: string, db: Kysely<Database> = this.db, result?: unknown) {
    return inTransaction(db, async (tx) => {
      const outcome = await failTask(tx, holder, { error, now: this.clock(), backoff: this.settings.backoff, result });
      if (outcome.status === 'pending') await this.wakeup.notify(tx);
      return outcome;
    });
  }

  /** Gives a task back without counting the attempt (shutdown; rate limit until `runAfter`). */
  async release(holder: LeaseHolder, reason: string, runAfter?: number): Promise<void> {
    const now = this.clock();
    await inTransaction(this.db, async (tx) => {
      await releaseTask(tx, holder, { reason, runAfter: runAfter ?? now, now });
      await this.wakeup.notify(tx);
    });
  }

  /**
   * `onDeadLetter` runs in the transaction of each task that ran out of attempts (see `DeadLetterHook`). Then, at
   * most once a reclaim interval per queue object, folds the task counters (task-counts.ts).
   */
  async reclaimExpired(onDeadLetter?: DeadLetterHook): Promise<number[]> {
    const ids = await reclaimExpiredLeases(this.db, {
      now: this.clock(),
      backoff: this.settings.backoff,
      onDeadLetter,
    });
    if (ids.length > 0) await this.wakeup.notify(this.db);
    if (this.clock() - this.lastFold >= (this.settings.reclaimMs ?? DEFAULT_QUEUE_SETTINGS.reclaimMs!)) {
      this.lastFold = this.clock();
      await foldTaskCounts(this.db, this.handle.dialect);
    }
    return ids;
  }

  cancel(id: number, actor: string, reason?: string): Promise<Task> {
    return inTransaction(this.db, async (tx) => {
      const task = await cancelTask(tx, id, { actor, now: this.clock(), ...(reason ? { reason } : {}) });
      await this.wakeup.notify(tx);
      return task;
    });
  }

  /** Puts a failed or cancelled task back with fresh attempts, in `db` (pass a transaction to check more with it). */
  retry(id: number, actor: string, db: Kysely<Database> = this.db): Promise<Task> {
    return inTransaction(db, async (tx) => {
      const task = await retryTask(tx, id, { actor, now: this.clock() });
      await this.wakeup.notify(tx);
      return task;
    });
  }

  get(id: number): Promise<Task> {
    return getTask(this.db, id);
  }

  list(filter?: TaskFilter): Promise<TaskPage> {
    return listTasks(this.db, filter);
  }

  countByStatus() {
    return countTasksByStatus(this.db);
  }

  /** Sleeps until tasks may have changed; with `types`, a new task of another type does not wake this waiter. */
  waitForWork(timeoutMs: number, signal?: AbortSignal, types?: readonly string[]): Promise<void> {
    return this.wakeup.wait(timeoutMs, signal, types);
  }

  close(): Promise<void> {
    return this.wakeup.close();
  }
}
