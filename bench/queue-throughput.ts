/**
 * @module `npm run bench:queue`: the task queue's enqueue rate, drain throughput and enqueue-to-claim latency on
 * SQLite (a temp file) and PostgreSQL (AUTODEV_BENCH_DATABASE_URL, else a throwaway durable cluster), and
 * graphile-worker's on the same PostgreSQL database. Results table on stdout, progress on stderr.
 *
 * Knobs (env): AUTODEV_BENCH_TASKS (20000), AUTODEV_BENCH_WORKERS (4), AUTODEV_BENCH_LATENCY_SAMPLES (100),
 * AUTODEV_BENCH_PROCESS_TASKS (4000; 0 skips the worker-process drain), AUTODEV_BENCH_ENGINES (`sqlite,postgres`),
 * AUTODEV_BENCH_ROUNDS (4; the interleaved PostgreSQL comparison: `tasks` per queue in that many alternating drains).
 * AUTODEV_BENCH_DATABASE_URL must let the bench create and drop a scratch database.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { TaskQueue } from '../src/queue/task-queue.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, redactUrl } from '../src/store/open-database.js';
import { findPostgresBinDir, startPostgresCluster, withDatabase } from '../test/support/postgres-cluster.js';
import {
  clearQueue,
  drainInProcess,
  measureWal,
  drainWithProcesses,
  enqueueTasks,
  fillQueue,
  measureClaimLatency,
  type ClaimLatencies,
} from './auto-dev-queue-bench.js';
import { formatTable, percentile, perSecond, progress, type Cell } from './bench-report.js';
import { benchGraphileWorker, drainGraphileOnce } from './graphile-worker-bench.js';

export interface QueueBenchConfig {
  tasks: number;
  /** Concurrent workers: loops in one process, worker processes, and graphile-worker's concurrency. */
  workers: number;
  /** Concurrent enqueuers, one task per call. */
  producers: number;
  /** Tasks enqueued one per call to measure the enqueue rate; the rest of `tasks` is bulk-inserted. */
  enqueueSample: number;
  /** Tasks drained by worker processes (process start-up and 2 cores make this variant slow); 0 skips it. */
  processTasks: number;
  engines: readonly ResultRow['engine'][];
  /** Interleaved comparison on PostgreSQL: each queue drains `tasks` in this many rounds, in ABBA order. */
  rounds: number;
  latencySamples: number;
  latencyIntervalMs: number;
}

export function readQueueBenchConfig(env: NodeJS.ProcessEnv = process.env): QueueBenchConfig {
  const int = (name: string, fallback: number, min = 1) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of ${min} or more`);
    return value;
  };
  const engines = (env.AUTODEV_BENCH_ENGINES ?? 'sqlite,postgres').split(',').map((e) => e.trim());
  const unknown = engines.find((e) => e !== 'sqlite' && e !== 'postgres');
  if (unknown !== undefined || engines.length === 0) {
    throw new Error(`AUTODEV_BENCH_ENGINES lists sqlite and/or postgres (got ${env.AUTODEV_BENCH_ENGINES})`);
  }
  const tasks = int('AUTODEV_BENCH_TASKS', 20_000);
  return {
    tasks,
    workers: int('AUTODEV_BENCH_WORKERS', 4),
    producers: 4,
    enqueueSample: Math.min(tasks, 2_000),
    processTasks: int('AUTODEV_BENCH_PROCESS_TASKS', Math.min(tasks, 4_000), 0),
    engines: engines as ResultRow['engine'][],
    rounds: int('AUTODEV_BENCH_ROUNDS', 4),
    latencySamples: int('AUTODEV_BENCH_LATENCY_SAMPLES', 100),
    latencyIntervalMs: 20,
  };
}

interface ResultRow {
  engine: 'sqlite' | 'postgres';
  queue: string;
  workers: string;
  enqueuePerSec?: number;
  drainPerSec: number;
  /** PostgreSQL: WAL bytes written per drained task. */
  walPerTask?: number | undefined;
  latencies?: ClaimLatencies;
}

/**
 * Runs the Auto-Dev phases on one database: the enqueue rate on a sample, a drain of `tasks` by loops in this
 * process, the claim latency, then a drain of `processTasks` by worker processes.
 */
async function benchAutoDev(
  engine: ResultRow['engine'],
  open: { databaseUrl?: string; sqlitePath?: string },
  config: QueueBenchConfig,
): Promise<ResultRow[]> {
  const handle = await openDatabase(open);
  const queue = new TaskQueue(handle);
  const { tasks, workers } = config;
  try {
    await migrateToLatest(handle);
    await clearQueue(handle);
    progress(`${engine}: enqueueing ${config.enqueueSample} tasks, ${config.producers} at a time`);
    const enqueueMs = await enqueueTasks(queue, config.enqueueSample, config.producers);
    await fillQueue(handle, tasks - config.enqueueSample);
    progress(`${engine}: draining ${tasks} tasks with ${workers} worker loops in this process`);
    const { value: inProcess, walBytes } = await measureWal(handle, () => drainInProcess(queue, tasks, workers));
    progress(
      `${engine}: enqueue-to-claim latency, ${config.latencySamples} tasks every ${config.latencyIntervalMs} ms`,
    );
    const latencies = await measureClaimLatency(queue, config.latencySamples, config.latencyIntervalMs, workers);

    await clearQueue(handle);
    const rows: ResultRow[] = [
      {
        engine,
        queue: 'auto-dev',
        workers: `${workers} loops, 1 process`,
        enqueuePerSec: perSecond(config.enqueueSample, enqueueMs),
        drainPerSec: perSecond(inProcess.tasks, inProcess.elapsedMs),
        walPerTask: walBytes === undefined ? undefined : walBytes / inProcess.tasks,
        latencies,
      },
    ];
    if (config.processTasks === 0) return rows;
    await fillQueue(handle, config.processTasks);
    progress(`${engine}: draining ${config.processTasks} tasks with ${workers} worker processes`);
    const byProcesses = await drainWithProcesses(
      queue,
      open.databaseUrl ?? open.sqlitePath!,
      config.processTasks,
      workers,
    );
    await clearQueue(handle);
    rows.push({
      engine,
      queue: 'auto-dev',
      workers: `${workers} processes (${config.processTasks} tasks)`,
      drainPerSec: perSecond(byProcesses.tasks, byProcesses.elapsedMs),
    });
    return rows;
  } finally {
    await queue.close();
    await handle.close();
  }
}

/**
 * The fair comparison on a shared machine: the same `tasks` drained by each queue in `rounds` alternating rounds
 * (auto-dev, graphile, graphile, auto-dev, ...), so load from elsewhere that drifts during the run falls on both.
 * Returns each queue's total tasks over total drain time.
 */
async function interleavedDrains(url: string, config: QueueBenchConfig): Promise<{ ours: number; theirs: number }> {
  const handle = await openDatabase({ databaseUrl: url });
  const queue = new TaskQueue(handle);
  const perRound = Math.ceil(config.tasks / config.rounds);
  const total = { ours: { tasks: 0, ms: 0 }, theirs: { tasks: 0, ms: 0 } };
  try {
    const ours = async () => {
      await clearQueue(handle);
      await fillQueue(handle, perRound);
      const drain = await drainInProcess(queue, perRound, config.workers);
      total.ours.tasks += drain.tasks;
      total.ours.ms += drain.elapsedMs;
    };
    const theirs = async () => {
      const drain = await drainGraphileOnce(url, perRound, config.workers);
      total.theirs.tasks += drain.tasks;
      total.theirs.ms += drain.elapsedMs;
    };
    for (let round = 0; round < config.rounds; round++) {
      progress(`postgres: interleaved round ${round + 1}/${config.rounds}, ${perRound} tasks each`);
      const order = round % 2 === 0 ? [ours, theirs] : [theirs, ours];
      for (const drain of order) await drain();
    }
    await clearQueue(handle);
  } finally {
    await queue.close();
    await handle.close();
  }
  return { ours: perSecond(total.ours.tasks, total.ours.ms), theirs: perSecond(total.theirs.tasks, total.theirs.ms) };
}

interface ScratchPostgres {
  url: string;
  release(): Promise<void>;
}

/** A scratch database on AUTODEV_BENCH_DATABASE_URL's server, or on a throwaway durable cluster; undefined if neither. */
export async function scratchPostgres(): Promise<ScratchPostgres | undefined> {
  let adminUrl = process.env.AUTODEV_BENCH_DATABASE_URL;
  let stopCluster: (() => void) | undefined;
  if (!adminUrl) {
    if (!findPostgresBinDir()) return undefined;
    progress('postgres: starting a throwaway cluster (fsync on)');
    const cluster = await startPostgresCluster({ durable: true });
    adminUrl = cluster.adminUrl;
    stopCluster = () => cluster.stop();
    // Ctrl-C must not leave a server running.
    process.once('SIGINT', () => {
      stopCluster?.();
      process.exit(130);
    });
  }
  const name = `autodev_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  progress(`postgres: scratch database ${name} on ${redactUrl(adminUrl)}`);
  return {
    url: withDatabase(adminUrl, name),
    async release() {
      try {
        await admin(`drop database if exists ${name} with (force)`);
      } finally {
        stopCluster?.();
      }
    },
  };
}

/** Runs the whole benchmark and returns the report (also printed by the command). */
export async function runQueueThroughputBench(config: QueueBenchConfig = readQueueBenchConfig()): Promise<string> {
  const rows: ResultRow[] = [];
  const notes: string[] = [];

  if (config.engines.includes('sqlite')) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-'));
    try {
      rows.push(...(await benchAutoDev('sqlite', { sqlitePath: path.join(dir, 'autodev.db') }, config)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  const postgres = config.engines.includes('postgres') ? await scratchPostgres() : undefined;
  if (!config.engines.includes('postgres')) {
    notes.push('PostgreSQL left out (AUTODEV_BENCH_ENGINES).');
  } else if (!postgres) {
    notes.push('PostgreSQL skipped: not installed and AUTODEV_BENCH_DATABASE_URL not set.');
  } else {
    try {
      rows.push(...(await benchAutoDev('postgres', { databaseUrl: postgres.url }, config)));
      progress(`postgres: graphile-worker: enqueue, drain with concurrency ${config.workers}, latency`);
      const graphile = await benchGraphileWorker({
        connectionString: postgres.url,
        tasks: config.tasks,
        enqueueSample: config.enqueueSample,
        concurrency: config.workers,
        producers: config.producers,
        latencySamples: config.latencySamples,
        latencyIntervalMs: config.latencyIntervalMs,
      });
      rows.push({
        engine: 'postgres',
        queue: 'graphile-worker 0.17.3',
        workers: `concurrency ${config.workers}, 1 process`,
        enqueuePerSec: perSecond(config.enqueueSample, graphile.enqueueMs),
        drainPerSec: perSecond(graphile.drain.tasks, graphile.drain.elapsedMs),
        walPerTask: graphile.drain.walBytes === undefined ? undefined : graphile.drain.walBytes / graphile.drain.tasks,
        latencies: graphile.latencies,
      });
      const interleaved = await interleavedDrains(postgres.url, config);
      const label = `${config.rounds} rounds alternating`;
      rows.push(
        {
          engine: 'postgres',
          queue: 'auto-dev',
          workers: `${config.workers} loops, ${label}`,
          drainPerSec: interleaved.ours,
        },
        {
          engine: 'postgres',
          queue: 'graphile-worker 0.17.3',
          workers: `concurrency ${config.workers}, ${label}`,
          drainPerSec: interleaved.theirs,
        },
      );
      notes.push(
        `postgres drain, interleaved (${config.rounds} alternating rounds, ${config.tasks} tasks each queue), auto-dev / graphile-worker: ${(interleaved.ours / interleaved.theirs).toFixed(2)}x`,
      );
    } finally {
      await postgres.release();
    }
  }

  const table = formatTable(
    [
      'engine',
      'queue',
      'workers',
      'enqueue/s',
      'drain tasks/s',
      'WAL B/task',
      'claim p50 ms',
      'claim p99 ms',
      'p50 from call ms',
    ],
    rows.map((row): Cell[] => [
      row.engine,
      row.queue,
      row.workers,
      row.enqueuePerSec,
      row.drainPerSec,
      row.walPerTask,
      row.latencies && percentile(row.latencies.afterCommit, 50),
      row.latencies && percentile(row.latencies.afterCommit, 99),
      row.latencies && percentile(row.latencies.fromCall, 50),
    ]),
  );
  const ours = rows.find((r) => r.engine === 'postgres' && r.queue === 'auto-dev' && r.latencies);
  const theirs = rows.find((r) => r.queue.startsWith('graphile-worker'));
  if (ours && theirs) {
    notes.push(
      `postgres drain, one run each (auto-dev first), auto-dev / graphile-worker at the same concurrency: ${(ours.drainPerSec / theirs.drainPerSec).toFixed(2)}x`,
    );
  }
  for (const [engine, target] of [
    ['sqlite', 5],
    ['postgres', 10],
  ] as const) {
    const row = rows.find((r) => r.engine === engine && r.queue === 'auto-dev' && r.latencies);
    if (!row?.latencies) continue;
    const p50 = percentile(row.latencies.afterCommit, 50);
    notes.push(
      `${engine} enqueue-to-claim p50 ${p50.toFixed(2)} ms: target < ${target} ms ${p50 < target ? 'met' : 'MISSED'}`,
    );
  }
  const header =
    `Queue benchmark: ${config.tasks} no-op tasks; enqueue = ${config.enqueueSample} tasks by ${config.producers} ` +
    `concurrent producers, one task per call; drain = first claim to last completion; claim = enqueue returned to worker has the task ` +
    `(${config.latencySamples} tasks, one every ${config.latencyIntervalMs} ms, idle workers); from call = from ` +
    `enqueue called, so including its commit. ${os.cpus().length} CPUs, node ${process.version}.`;
  return [header, '', table, '', ...notes].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runQueueThroughputBench().then(
    (report) => {
      process.stdout.write(`${report}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench:queue failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
