/**
 * @module The queue under SIGKILL: worker processes are killed at random while they drain it. Every task must end
 * `completed` exactly once, none lost, and no task may ever be claimed by a second worker while its first was alive.
 * Needs the build (`npm run build`): the workers are `dist/test/support/queue-worker-process.js`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTasksByStatus } from '../../src/queue/read-tasks.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { createCrashTestRunsTable, withCrashTestRuns } from '../support/crash-test-runs.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { killWorker, startWorkerProcess, stopWorkers, type WorkerProcess } from '../support/worker-processes.js';

const TASKS = 300;
const WORKERS = 4;
const KILLS = 10;
const KILL_EVERY_MS = 150;
const LEASE_MS = 1_500;
const HEARTBEAT_MS = 300;
const DRAIN_TIMEOUT_MS = 90_000;

interface Claim {
  taskId: number;
  workerId: string;
  attempt: number;
  at: number;
}

describe.each(DIALECTS)('%s: worker processes killed with SIGKILL', (dialect) => {
  let t: TestDatabase | undefined;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    await createCrashTestRunsTable(t.handle.db);
  });

  afterAll(async () => {
    // Even when the test failed half-way: no child may outlive the file.
    await stopWorkers(workers, 2_000);
    await t?.drop();
  });

  it(`completes ${TASKS} tasks exactly once while ${KILLS} workers are killed`, async () => {
    const db = t!;
    const database = db.databaseUrl ?? db.sqlitePath!;
    const queue = new TaskQueue(db.handle);
    await db.handle.db.transaction().execute(async (tx) => {
      for (let i = 0; i < TASKS; i++) await queue.enqueue({ type: 'deploy', payload: { i }, createdBy: 'test' }, tx);
    });
    await queue.close();

    let started = 0;
    const startWorker = () => {
      const worker = startWorkerProcess({
        database,
        workerId: `w${++started}`,
        leaseMs: LEASE_MS,
        heartbeatMs: HEARTBEAT_MS,
        types: ['deploy'],
        mode: 'crash-test',
      });
      workers.push(worker);
      return worker;
    };
    const begin = Date.now();
    for (let i = 0; i < WORKERS; i++) startWorker();
    await Promise.all(workers.map((w) => w.ready));

    // 1. Chaos: every ~150 ms, SIGKILL a random worker that is up and start a replacement.
    let kills = 0;
    while (kills < KILLS) {
      await sleep(KILL_EVERY_MS);
      const candidates = workers.filter((w) => w.isReady && w.exitedAt === undefined);
      const victim = candidates[Math.floor(Math.random() * candidates.length)];
      if (!victim) continue;
      await killWorker(victim);
      kills++;
      startWorker();
    }

    // 2. The survivors and replacements drain the rest, reclaiming the killed workers' leases.
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    for (;;) {
      const counts = await countTasksByStatus(db.handle.db);
      if (counts.completed === TASKS) break;
      if (Date.now() > deadline) throw new Error(await notCompletedReport(db, workers));
      await sleep(100);
    }
    const drainedMs = Date.now() - begin;
    await stopWorkers(workers, 5_000);

    // 3. Evidence: the tasks, every claim (from the events log, written in the claim's transaction), every run.
    const tasks = await db.handle.db.selectFrom('tasks').selectAll().orderBy('id').execute();
    const events = await db.handle.db
      .selectFrom('events')
      .select(['kind', 'subject_id', 'actor', 'data', 'created_at'])
      .where('subject_type', '=', 'task')
      .orderBy('id')
      .execute();
    const runs = await withCrashTestRuns(db.handle.db).selectFrom('crash_test_runs').selectAll().execute();
    const workerById = new Map(workers.map((w) => [w.workerId, w]));
    const claimsByTask = groupBy(
      events
        .filter((e) => e.kind === 'task.claimed')
        .map((e): Claim => ({
          taskId: Number(e.subject_id),
          workerId: e.actor,
          attempt: (JSON.parse(e.data) as { attempt: number }).attempt,
          at: e.created_at,
        })),
      (c) => c.taskId,
    );
    const runsByTask = groupBy(runs, (r) => Number(r.task_id));
    const eventCount = (kind: string, taskId: number) =>
      events.filter((e) => e.kind === kind && e.subject_id === String(taskId)).length;

    // No task lost, every task completed exactly once.
    expect(tasks).toHaveLength(TASKS);
    expect(tasks.filter((task) => task.status !== 'completed')).toEqual([]);
    const problems: string[] = [];
    let interrupted = 0;
    for (const task of tasks) {
      const claims = (claimsByTask.get(task.id) ?? []).sort((a, b) => a.attempt - b.attempt);
      const taskRuns = (runsByTask.get(task.id) ?? []).sort((a, b) => a.attempt - b.attempt);
      const say = (what: string) => problems.push(`task ${task.id}: ${what}`);
      if (eventCount('task.completed', task.id) !== 1) say(`${eventCount('task.completed', task.id)} completions`);
      if (task.lease_owner !== null) say(`completed but still leased to ${task.lease_owner}`);

      // Every claim is in the log, numbered 1..attempts.
      if (claims.map((c) => c.attempt).join() !== Array.from({ length: task.attempts }, (_, i) => i + 1).join()) {
        say(`attempts ${task.attempts} but claims ${JSON.stringify(claims)}`);
        continue;
      }
      if (task.attempts > 1) interrupted++;
      // attempts > 1 only for interrupted runs: every claim but the last was held by a worker we killed, its lease
      // was reclaimed, and the next claim came after that worker was dead (never two live holders).
      if (eventCount('task.lease_expired', task.id) !== task.attempts - 1) {
        say(`${task.attempts} attempts but ${eventCount('task.lease_expired', task.id)} lease expiries`);
      }
      for (let i = 0; i + 1 < claims.length; i++) {
        const [held, next] = [claims[i]!, claims[i + 1]!];
        const holder = workerById.get(held.workerId);
        if (holder?.killedAt === undefined || holder.exitedAt === undefined) {
          say(`attempt ${held.attempt} by ${held.workerId}, which was never killed, was run again`);
        } else if (next.at <= holder.exitedAt) {
          say(
            `attempt ${next.attempt} claimed at ${next.at} while ${held.workerId} was alive (died by ${holder.exitedAt})`,
          );
        }
      }

      // Runs: one per claim at most, by the claiming worker; only the last is finished, by the worker in the result.
      for (const run of taskRuns) {
        const claim = claims[run.attempt - 1];
        if (claim?.workerId !== run.worker_id) say(`run ${JSON.stringify(run)} does not match its claim`);
      }
      const finished = taskRuns.filter((r) => r.finished_at !== null);
      const last = taskRuns.at(-1);
      const result = JSON.parse(task.result ?? 'null') as { workerId: string; attempt: number } | null;
      if (finished.length !== 1 || finished[0] !== last) say(`finished runs ${JSON.stringify(finished)}`);
      if (last?.attempt !== task.attempts || result?.workerId !== last.worker_id || result.attempt !== last.attempt) {
        say(`result ${task.result} does not match the last run ${JSON.stringify(last)} (attempts ${task.attempts})`);
      }
      for (let i = 0; i + 1 < taskRuns.length; i++) {
        const [before, after] = [taskRuns[i]!, taskRuns[i + 1]!];
        const diedAt = workerById.get(before.worker_id)?.exitedAt;
        if (diedAt === undefined || after.started_at <= diedAt) {
          say(`run ${JSON.stringify(after)} overlaps run ${JSON.stringify(before)} (its worker died at ${diedAt})`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The kills must have landed on running tasks, or this test proved nothing.
    expect(interrupted).toBeGreaterThan(0);
    console.info(
      `${dialect}: ${TASKS} tasks, ${kills} SIGKILLs, ${workers.length} worker processes, ${interrupted} tasks interrupted ` +
        `and rerun, ${runs.length} handler runs, drained in ${drainedMs} ms`,
    );
  }, 180_000);
});

async function notCompletedReport(t: TestDatabase, workers: readonly WorkerProcess[]): Promise<string> {
  const open = await t.handle.db
    .selectFrom('tasks')
    .select(['id', 'status', 'attempts', 'lease_owner', 'lease_expires_at', 'run_after', 'error'])
    .where('status', '!=', 'completed')
    .orderBy('id')
    .execute();
  const live = workers.filter((w) => w.exitedAt === undefined).map((w) => w.workerId);
  const stderr = workers
    .filter((w) => w.stderr)
    .map((w) => `--- ${w.workerId} stderr:\n${w.stderr.slice(-2_000)}`)
    .join('\n');
  return (
    `${open.length} of ${TASKS} tasks not completed after ${DRAIN_TIMEOUT_MS} ms (now ${Date.now()}); live workers: ` +
    `${live.join(', ') || 'none'}\n${open
      .slice(0, 30)
      .map((task) => JSON.stringify(task))
      .join('\n')}\n${stderr}`
  );
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
