/**
 * @module The same phases as the Auto-Dev queue benchmark, run by graphile-worker 0.17.3 (default settings, no
 * local queue or batching) on the same PostgreSQL database, as the yardstick. It installs its own `graphile_worker`
 * schema.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, makeWorkerUtils, run, runMigrations, type Runner } from 'graphile-worker';
import { preciseNow } from './bench-report.js';
import {
  latenciesOf,
  WAL_POSITION_SQL,
  walBytesBetween,
  type ClaimLatencies,
  type DrainTiming,
} from './auto-dev-queue-bench.js';

const TASK = 'noop';
/** Graphile logs every job at info level; the Auto-Dev side logs nothing either. */
const silent = new Logger(() => () => undefined);

export interface GraphileBenchOptions {
  connectionString: string;
  tasks: number;
  /** Jobs added one per call to measure the enqueue rate; the rest of `tasks` is added in batches. */
  enqueueSample: number;
  concurrency: number;
  producers: number;
  latencySamples: number;
  latencyIntervalMs: number;
}

export interface GraphileBenchResult {
  enqueueMs: number;
  drain: DrainTiming;
  latencies: ClaimLatencies;
}

export async function benchGraphileWorker(options: GraphileBenchOptions): Promise<GraphileBenchResult> {
  const { connectionString, tasks } = options;
  await runMigrations({ connectionString, logger: silent });
  const utils = await makeWorkerUtils({ connectionString, logger: silent });
  let runner: Runner | undefined;
  try {
    // 1. Enqueue: one job per call, `producers` calls at a time; then the rest in batches.
    let next = 0;
    const enqueueStarted = performance.now();
    await Promise.all(
      Array.from({ length: options.producers }, async () => {
        while (next < options.enqueueSample) {
          next++;
          await utils.addJob(TASK, {});
        }
      }),
    );
    const enqueueMs = performance.now() - enqueueStarted;
    for (let added = options.enqueueSample; added < tasks; added += 1_000) {
      const size = Math.min(1_000, tasks - added);
      await utils.addJobs(Array.from({ length: size }, () => ({ identifier: TASK, payload: {} })));
    }
    // As for the Auto-Dev queue: plan against fresh statistics, as autovacuum would.
    await utils.withPgClient((client) => client.query('analyze graphile_worker._private_jobs'));

    // 2. Drain with a pool of `concurrency` workers; first job start to last completion written back.
    const calledAt = new Map<string, number>();
    const committedAt = new Map<string, number>();
    const claimedAt = new Map<string, number>();
    let firstStart: number | undefined;
    let lastComplete = 0;
    let completed = 0;
    let measuringLatency = false;
    let drained!: () => void;
    const allDrained = new Promise<void>((resolve) => (drained = resolve));
    const walPosition = () =>
      utils.withPgClient(async (client) => (await client.query<{ lsn: string }>(WAL_POSITION_SQL)).rows[0]!.lsn);
    const walFrom = await walPosition();
    runner = await run({
      connectionString,
      concurrency: options.concurrency,
      noHandleSignals: true,
      logger: silent,
      taskList: {
        [TASK]: async (_payload, helpers) => {
          if (measuringLatency) claimedAt.set(helpers.job.id, preciseNow());
        },
      },
    });
    runner.events.on('job:start', () => (firstStart ??= performance.now()));
    runner.events.on('job:complete', () => {
      lastComplete = performance.now();
      if (++completed === tasks) drained();
    });
    await allDrained;
    const drain = {
      elapsedMs: lastComplete - firstStart!,
      tasks,
      walBytes: walBytesBetween(walFrom, await walPosition()),
    };

    // 3. Latency: the pool is idle now; one job every interval, stamped with its enqueue time.
    await sleep(300);
    measuringLatency = true;
    for (let i = 0; i < options.latencySamples; i++) {
      const called = preciseNow();
      const job = await utils.addJob(TASK, {});
      committedAt.set(job.id, preciseNow());
      calledAt.set(job.id, called);
      await sleep(options.latencyIntervalMs);
    }
    const deadline = Date.now() + 10_000;
    while (claimedAt.size < options.latencySamples && Date.now() < deadline) await sleep(10);
    return { enqueueMs, drain, latencies: latenciesOf(calledAt, committedAt, claimedAt) };
  } finally {
    await runner?.stop();
    await utils.release();
  }
}

/**
 * One graphile-worker drain of `tasks` jobs, for the interleaved comparison: the jobs are added while no worker
 * runs, then a pool of `concurrency` drains them; timed from the first job start to the last completion.
 */
export async function drainGraphileOnce(
  connectionString: string,
  tasks: number,
  concurrency: number,
): Promise<DrainTiming> {
  await runMigrations({ connectionString, logger: silent });
  const utils = await makeWorkerUtils({ connectionString, logger: silent });
  let runner: Runner | undefined;
  try {
    for (let added = 0; added < tasks; added += 1_000) {
      const size = Math.min(1_000, tasks - added);
      await utils.addJobs(Array.from({ length: size }, () => ({ identifier: TASK, payload: {} })));
    }
    await utils.withPgClient((client) => client.query('analyze graphile_worker._private_jobs'));
    let firstStart: number | undefined;
    let lastComplete = 0;
    let completed = 0;
    let drained!: () => void;
    const allDrained = new Promise<void>((resolve) => (drained = resolve));
    runner = await run({
      connectionString,
      concurrency,
      noHandleSignals: true,
      logger: silent,
      taskList: { [TASK]: async () => undefined },
    });
    runner.events.on('job:start', () => (firstStart ??= performance.now()));
    runner.events.on('job:complete', () => {
      lastComplete = performance.now();
      if (++completed === tasks) drained();
    });
    await allDrained;
    return { elapsedMs: lastComplete - firstStart!, tasks };
  } finally {
    await runner?.stop();
    await utils.release();
  }
}
