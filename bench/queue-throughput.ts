/**
 * @module `npm run bench:queue`: the task queue's enqueue rate, drain throughput and enqueue-to-claim latency on
 * SQLite (a temp file) and PostgreSQL (AUTODEV_BENCH_DATABASE_URL, else a throwaway durable cluster), and
 * graphile-worker's on the same PostgreSQL database. Results table on stdout, progress on stderr.
 *
 * Knobs (env): AUTODEV_BENCH_TASKS (20000), AUTODEV_BENCH_WORKERS (4), AUTODEV_BENCH_LATENCY_SAMPLES (100),
 * AUTODEV_BENCH_PROCESS_TASKS (4000).
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
  drainWithProcesses,
  enqueueTasks,
  fillQueue,
  measureClaimLatency,
  type ClaimLatencies,
} from './auto-dev-queue-bench.js';
import { formatTable, percentile, perSecond, progress, type Cell } from './bench-report.js';
import { benchGraphileWorker } from './graphile-worker-bench.js';

export interface QueueBenchConfig {
  tasks: number;
  /** Concurrent workers: loops in one process, worker processes, and graphile-worker's concurrency. */
  workers: number;
  /** Concurrent enqueuers, one task per call. */
  producers: number;
  /** Tasks enqueued one per call to measure the enqueue rate; the rest of `tasks` is bulk-inserted. */
  enqueueSample: number;
  /** Tasks drained by worker processes (process start-up and 2 cores make this variant slow). */
  processTasks: number;
  latencySamples: number;
  latencyIntervalMs: number;
}

export function readQueueBenchConfig(env: NodeJS.ProcessEnv = process.env): QueueBenchConfig {
  const int = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of 1 or more`);
    return value;
  };
  const tasks = int('AUTODEV_BENCH_TASKS', 20_000);
  return {
    tasks,
    workers: int('AUTODEV_BENCH_WORKERS', 4),
    producers: 4,
    enqueueSample: Math.min(tasks, 2_000),
    processTasks: int('AUTODEV_BENCH_PROCESS_TASKS', Math.min(tasks, 4_000)),
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
    const inProcess = await drainInProcess(queue, tasks, workers);
    progress(
      `${engine}: enqueue-to-claim latency, ${config.latencySamples} tasks every ${config.latencyIntervalMs} ms`,
    );
    const latencies = await measureClaimLatency(queue, config.latencySamples, config.latencyIntervalMs, workers);

    await clearQueue(handle);
    await fillQueue(handle, config.processTasks);
    progress(`${engine}: draining ${config.processTasks} tasks with ${workers} worker processes`);
    const byProcesses = await drainWithProcesses(
      queue,
      open.databaseUrl ?? open.sqlitePath!,
      config.processTasks,
      workers,
    );
    await clearQueue(handle);
    return [
      {
        engine,
        queue: 'auto-dev',
        workers: `${workers} loops, 1 process`,
        enqueuePerSec: perSecond(config.enqueueSample, enqueueMs),
        drainPerSec: perSecond(inProcess.tasks, inProcess.elapsedMs),
        latencies,
      },
      {
        engine,
        queue: 'auto-dev',
        workers: `${workers} processes (${config.processTasks} tasks)`,
        drainPerSec: perSecond(byProcesses.tasks, byProcesses.elapsedMs),
      },
    ];
  } finally {
    await queue.close();
    await handle.close();
  }
}

interface ScratchPostgres {
  url: string;
  release(): Promise<void>;
}

/** A scratch database on AUTODEV_BENCH_DATABASE_URL's server, or on a throwaway durable cluster; undefined if neither. */
async function scratchPostgres(): Promise<ScratchPostgres | undefined> {
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

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-'));
  try {
    rows.push(...(await benchAutoDev('sqlite', { sqlitePath: path.join(dir, 'autodev.db') }, config)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const postgres = await scratchPostgres();
  if (!postgres) {
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
        latencies: graphile.latencies,
      });
    } finally {
      await postgres.release();
    }
  }

  const table = formatTable(
    ['engine', 'queue', 'workers', 'enqueue/s', 'drain tasks/s', 'claim p50 ms', 'claim p99 ms', 'p50 from call ms'],
    rows.map((row): Cell[] => [
      row.engine,
      row.queue,
      row.workers,
      row.enqueuePerSec,
      row.drainPerSec,
      row.latencies && percentile(row.latencies.afterCommit, 50),
      row.latencies && percentile(row.latencies.afterCommit, 99),
      row.latencies && percentile(row.latencies.fromCall, 50),
    ]),
  );
  const ours = rows.find((r) => r.engine === 'postgres' && r.queue === 'auto-dev' && r.latencies);
  const theirs = rows.find((r) => r.queue.startsWith('graphile-worker'));
  if (ours && theirs) {
    notes.push(
      `postgres drain, auto-dev / graphile-worker at the same concurrency: ${(ours.drainPerSec / theirs.drainPerSec).toFixed(2)}x`,
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
