/**
 * @module The Auto-Dev queue's benchmark phases on one database: enqueue rate, drain throughput (worker loops in this
 * process, or worker processes) and enqueue-to-claim latency with idle workers. No-op tasks: this measures the queue.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { runWorker } from '../src/queue/run-worker.js';
import { DEFAULT_QUEUE_SETTINGS, type TaskQueue } from '../src/queue/task-queue.js';
import { DEFAULT_PRIORITY } from '../src/queue/enqueue-task.js';
import type { Task } from '../src/queue/task-record.js';
import type { DatabaseHandle } from '../src/store/open-database.js';
import { startWorkerProcess, stopWorkers } from '../test/support/worker-processes.js';
import { preciseNow, progress } from './bench-report.js';

export const BENCH_TASK_TYPE = 'deploy';

export interface DrainTiming {
  /** From the first claim to the last completion. */
  elapsedMs: number;
  tasks: number;
  /** PostgreSQL: WAL written during the drain (the whole cluster's; nothing else runs on the bench's). */
  walBytes?: number;
}

/** PostgreSQL's WAL insert position as text (`16/B374D848`); `walBytesBetween` subtracts two. */
export const WAL_POSITION_SQL = 'select pg_current_wal_insert_lsn()::text as lsn';

export function walBytesBetween(from: string, to: string): number {
  const bytes = (lsn: string) => {
    const [high, low] = lsn.split('/').map((part) => parseInt(part, 16));
    return high! * 2 ** 32 + low!;
  };
  return bytes(to) - bytes(from);
}

/** Runs `phase` and returns its value with the WAL bytes it wrote (PostgreSQL), else undefined. */
export async function measureWal<T>(
  handle: DatabaseHandle,
  phase: () => Promise<T>,
): Promise<{ value: T; walBytes?: number }> {
  if (handle.dialect.name !== 'postgres') return { value: await phase() };
  const position = async () =>
    (await sql<{ lsn: string }>`${sql.raw(WAL_POSITION_SQL)}`.execute(handle.db)).rows[0]!.lsn;
  const from = await position();
  const value = await phase();
  return { value, walBytes: walBytesBetween(from, await position()) };
}

/** Empties the queue and its event log between phases. */
export async function clearQueue(handle: DatabaseHandle): Promise<void> {
  await sql`delete from events`.execute(handle.db);
  await sql`delete from tasks`.execute(handle.db);
}

/** `count` enqueues, `producers` at a time, one task per transaction (as API calls arrive). Returns elapsed ms. */
export async function enqueueTasks(queue: TaskQueue, count: number, producers: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (next < count) {
        next++;
        await queue.enqueue({ type: BENCH_TASK_TYPE, payload: {}, createdBy: 'bench' });
      }
    }),
  );
  return performance.now() - started;
}

/**
 * Fills the queue fast, for phases that do not measure enqueueing: multi-row inserts of the rows `enqueueTask` writes
 * (their `task.created` events are left out; nothing in a drain reads them).
 */
export async function fillQueue(handle: DatabaseHandle, count: number): Promise<void> {
  const now = Date.now();
  const row = {
    type: BENCH_TASK_TYPE,
    status: 'pending' as const,
    priority: DEFAULT_PRIORITY,
    payload: '{}',
    max_attempts: DEFAULT_QUEUE_SETTINGS.maxAttempts,
    run_after: now,
    created_by: 'bench',
    created_at: now,
    updated_at: now,
  };
  for (let done = 0; done < count; done += 1_000) {
    const size = Math.min(1_000, count - done);
    await handle.db
      .insertInto('tasks')
      .values(Array.from({ length: size }, () => row))
      .execute();
  }
  await refreshPlannerStatistics(handle);
}

/**
 * PostgreSQL: ANALYZE, as autovacuum would within a minute. Right after a bulk insert into a fresh table the planner
 * still believes almost no task is pending and claims through a bitmap scan plus a sort of every pending task
 * (20-40 ms a claim at 20,000 pending); the bench measures the steady state. SQLite has no statistics unless asked.
 */
export async function refreshPlannerStatistics(handle: DatabaseHandle): Promise<void> {
  if (handle.dialect.name === 'postgres') await sql`analyze tasks`.execute(handle.db);
}

interface LoopHooks {
  onStart?: (task: Task) => void;
  onEnd?: () => void;
}

/** Runs `workers` worker loops in this process with a no-op handler until `stop()`. */
function startLoops(queue: TaskQueue, workers: number, hooks: LoopHooks) {
  const abort = new AbortController();
  const loops = Array.from({ length: workers }, (_, i) =>
    runWorker({
      queue,
      workerId: `bench-${i + 1}`,
      types: [BENCH_TASK_TYPE],
      signal: abort.signal,
      handler: async () => ({ result: null }),
      onTaskStart: (task) => hooks.onStart?.(task),
      onTaskEnd: () => hooks.onEnd?.(),
      onError: (error) => progress(`worker error: ${String(error)}`),
    }),
  );
  return {
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}

/** Drains `count` queued tasks with worker loops in this process. */
export async function drainInProcess(queue: TaskQueue, count: number, workers: number): Promise<DrainTiming> {
  let firstClaim: number | undefined;
  let completed = 0;
  let lastEnd = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  const loops = startLoops(queue, workers, {
    onStart: () => (firstClaim ??= performance.now()),
    onEnd: () => {
      lastEnd = performance.now();
      if (++completed === count) done();
    },
  });
  await allDone;
  await loops.stop();
  return { elapsedMs: lastEnd - firstClaim!, tasks: count };
}

/** Drains `count` queued tasks with `processes` worker processes (from the build); times come from the rows. */
export async function drainWithProcesses(
  queue: TaskQueue,
  database: string,
  count: number,
  processes: number,
): Promise<DrainTiming> {
  const workers = Array.from({ length: processes }, (_, i) =>
    startWorkerProcess({
      database,
      workerId: `bench-process-${i + 1}`,
      leaseMs: DEFAULT_QUEUE_SETTINGS.leaseMs,
      heartbeatMs: DEFAULT_QUEUE_SETTINGS.heartbeatMs,
      types: [BENCH_TASK_TYPE],
      mode: 'noop',
    }),
  );
  try {
    for (;;) {
      if ((await queue.countByStatus()).completed >= count) break;
      const dead = workers.find((w) => w.exitedAt !== undefined);
      if (dead) throw new Error(`bench worker ${dead.workerId} died: ${dead.stderr}`);
      await sleep(100);
    }
  } finally {
    await stopWorkers(workers, 5_000);
  }
  const span = await queue.handle.db
    .selectFrom('tasks')
    .select((eb) => [eb.fn.min('started_at').as('first'), eb.fn.max('finished_at').as('last')])
    .executeTakeFirstOrThrow();
  return { elapsedMs: Number(span.last) - Number(span.first), tasks: count };
}

export interface ClaimLatencies {
  /** From the moment `enqueue` returned (the task is committed) to its claim. */
  afterCommit: number[];
  /** From the moment `enqueue` was called, so including the enqueue's own commit. */
  fromCall: number[];
}

/**
 * Enqueue-to-claim latency: `workers` idle loops; one task every `intervalMs`. The claim time is when the worker
 * has the task, before its handler runs.
 */
export async function measureClaimLatency(
  queue: TaskQueue,
  samples: number,
  intervalMs: number,
  workers: number,
): Promise<ClaimLatencies> {
  const calledAt = new Map<number, number>();
  const committedAt = new Map<number, number>();
  const claimedAt = new Map<number, number>();
  const loops = startLoops(queue, workers, { onStart: (task) => claimedAt.set(task.id, preciseNow()) });
  try {
    // Let every loop find the queue empty and go to sleep on the wake-up channel.
    await sleep(300);
    for (let i = 0; i < samples; i++) {
      const called = preciseNow();
      const task = await queue.enqueue({ type: BENCH_TASK_TYPE, payload: {}, createdBy: 'bench' });
      committedAt.set(task.id, preciseNow());
      calledAt.set(task.id, called);
      await sleep(intervalMs);
    }
    const deadline = Date.now() + 10_000;
    while (claimedAt.size < samples && Date.now() < deadline) await sleep(10);
  } finally {
    await loops.stop();
  }
  return latenciesOf(calledAt, committedAt, claimedAt);
}

export function latenciesOf<K>(
  calledAt: ReadonlyMap<K, number>,
  committedAt: ReadonlyMap<K, number>,
  claimedAt: ReadonlyMap<K, number>,
): ClaimLatencies {
  const result: ClaimLatencies = { afterCommit: [], fromCall: [] };
  for (const [id, claimed] of claimedAt) {
    result.afterCommit.push(claimed - committedAt.get(id)!);
    result.fromCall.push(claimed - calledAt.get(id)!);
  }
  return result;
}
