/**
 * @module A standalone worker process for the multi-process queue tests and benchmarks: runs `runWorker` against a
 * database until SIGTERM (graceful: the running task is released) or SIGKILL (the lease is left to expire).
 *
 * ### Examples
 * ```sh
 * node dist/test/support/queue-worker-process.js --database /tmp/x/autodev.db --worker-id w1 \
 *   --lease-ms 1500 --heartbeat-ms 300 --types deploy --mode crash-test
 * ```
 * Prints one JSON line `{"event":"ready",...}` on stdout once it is claiming; errors go to stderr.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runWorker, type TaskHandler } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { isPostgresUrl, openDatabase } from '../../src/store/open-database.js';
import { openChaosRunsLog } from './chaos-runs-log.js';
import { createCrashTestRunsTable, withCrashTestRuns } from './crash-test-runs.js';

/**
 * `crash-test`: record each run in `crash_test_runs` and sleep 5-50 ms. `noop`: return at once (benchmarks).
 * `chaos`: sleep 5-50 ms and append each run's start, end and outcome to the `--runs-log` file (chaos-runs-log.ts),
 * which, unlike a table, can be written while the database is down.
 */
export type WorkerMode = 'crash-test' | 'noop' | 'chaos';

function readOptions() {
  const { values } = parseArgs({
    options: {
      database: { type: 'string', default: process.env.DATABASE_URL },
      'worker-id': { type: 'string', default: `worker-${process.pid}` },
      'lease-ms': { type: 'string', default: '1500' },
      'heartbeat-ms': { type: 'string', default: '300' },
      'backoff-ms': { type: 'string', default: '100' },
      types: { type: 'string', default: 'deploy' },
      mode: { type: 'string', default: 'crash-test' },
      'runs-log': { type: 'string' },
      'reclaim-ms': { type: 'string' },
    },
  });
  if (!values.database)
    throw new Error('--database (a postgres:// URL or an SQLite file path) or DATABASE_URL is required');
  if (values.mode !== 'crash-test' && values.mode !== 'noop' && values.mode !== 'chaos') {
    throw new Error(`--mode must be crash-test, noop or chaos`);
  }
  if (values.mode === 'chaos' && !values['runs-log']) throw new Error('--mode chaos needs --runs-log <file>');
  return {
    database: values.database,
    workerId: values['worker-id'],
    leaseMs: Number(values['lease-ms']),
    heartbeatMs: Number(values['heartbeat-ms']),
    backoffMs: Number(values['backoff-ms']),
    types: values.types.split(','),
    mode: values.mode as WorkerMode,
    runsLog: values['runs-log'],
    reclaimMs: values['reclaim-ms'] === undefined ? undefined : Number(values['reclaim-ms']),
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  const handle = await openDatabase(
    isPostgresUrl(options.database) ? { databaseUrl: options.database, poolSize: 4 } : { sqlitePath: options.database },
  );
  const queue = new TaskQueue(handle, {
    leaseMs: options.leaseMs,
    heartbeatMs: options.heartbeatMs,
    ...(options.reclaimMs === undefined ? {} : { reclaimMs: options.reclaimMs }),
    maxAttempts: 25,
    backoff: { baseMs: options.backoffMs, maxMs: options.backoffMs * 4 },
  });
  const { workerId } = options;

  let handler: TaskHandler = async () => ({ result: null });
  const runsLog = options.mode === 'chaos' ? openChaosRunsLog(options.runsLog!) : undefined;
  if (runsLog) {
    handler = async (task, { signal }) => {
      runsLog.write({ event: 'start', taskId: task.id, attempt: task.attempts });
      await sleep(5 + Math.random() * 45, undefined, { signal });
      runsLog.write({ event: 'end', taskId: task.id, attempt: task.attempts });
      return { result: { workerId, attempt: task.attempts } };
    };
  }
  if (options.mode === 'crash-test') {
    await createCrashTestRunsTable(handle.db);
    const runs = withCrashTestRuns(handle.db);
    handler = async (task, { signal }) => {
      const run = { task_id: task.id, attempt: task.attempts };
      await runs
        .insertInto('crash_test_runs')
        .values({ ...run, worker_id: workerId, started_at: Date.now(), finished_at: null })
        .execute();
      // Long enough that some kills land mid-task; rejects when the worker stops or loses the lease.
      await sleep(5 + Math.random() * 45, undefined, { signal });
      return {
        result: { workerId, attempt: task.attempts },
        onComplete: async (tx) => {
          await withCrashTestRuns(tx)
            .updateTable('crash_test_runs')
            .set({ finished_at: Date.now() })
            .where('task_id', '=', run.task_id)
            .where('attempt', '=', run.attempt)
            .execute();
        },
      };
    };
  }

  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  // Started with an IPC channel (worker-processes.ts): a parent that dies without stopping us must not leak us.
  process.once('disconnect', () => stop.abort());
  process.channel?.unref();
  process.stdout.write(`${JSON.stringify({ event: 'ready', workerId, pid: process.pid })}\n`);
  await runWorker({
    queue,
    workerId,
    types: options.types,
    handler,
    signal: stop.signal,
    idleWaitMs: 500,
    onError: (error, task) => {
      runsLog?.write({
        event: 'error',
        taskId: task?.id,
        message: error instanceof Error ? error.message : String(error),
      });
      process.stderr.write(`${workerId}: ${error instanceof Error ? error.stack : String(error)}\n`);
    },
    onTaskEnd: (task, outcome) =>
      runsLog?.write({ event: 'settled', taskId: task.id, attempt: task.attempts, outcome }),
  });
  await queue.close();
  await handle.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`queue-worker-process: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
