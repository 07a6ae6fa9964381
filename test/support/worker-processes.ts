/**
 * @module Starts and kills `queue-worker-process` children (from the build, `dist/`) for the multi-process queue
 * tests and benchmarks, and remembers when each one started, became ready and died.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnInGroup } from './child-processes.js';
import type { WorkerMode } from './queue-worker-process.js';

/** The repository root: the nearest directory above this file with a package.json (works from src and dist). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('no package.json above test/support');
    dir = parent;
  }
  return dir;
}

/** A built script under `dist/`, with a clear error when `npm run build` has not run. */
export function builtScript(relative: string): string {
  const file = path.join(repoRoot(), 'dist', relative);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first (npm test does it)`);
  return file;
}

export interface WorkerProcessOptions {
  /** A postgres:// URL or an SQLite file path. */
  database: string;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  types: readonly string[];
  mode: WorkerMode;
  backoffMs?: number;
  /** Mode `chaos`: the file this worker appends its runs to. */
  runsLog?: string;
  /** How often the worker reclaims expired leases (the queue's default: 5 s). */
  reclaimMs?: number;
}

/** One child worker: when it became ready and died, how it ended, the tail of its stderr. */
export class WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves when the child says it is claiming; rejects if it exits first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  isReady = false;
  /** Date.now() when the parent saw the exit: the process was dead by then. */
  exitedAt: number | undefined;
  /** Set by `killWorker` just before the signal is sent. */
  killedAt: number | undefined;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  stderr = '';

  constructor(readonly options: WorkerProcessOptions) {
    const args = [
      builtScript('test/support/queue-worker-process.js'),
      ...['--database', options.database, '--worker-id', options.workerId, '--mode', options.mode],
      ...['--lease-ms', String(options.leaseMs), '--heartbeat-ms', String(options.heartbeatMs)],
      ...['--types', options.types.join(','), '--backoff-ms', String(options.backoffMs ?? 100)],
      ...(options.runsLog ? ['--runs-log', options.runsLog] : []),
      ...(options.reclaimMs === undefined ? [] : ['--reclaim-ms', String(options.reclaimMs)]),
    ];
    // The IPC channel is the child's lifeline: if this process dies without killing it, the child stops itself.
    this.child = spawnInGroup(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep the tail only: a worker logging errors in a loop must not grow the parent's memory without bound.
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitedAt = Date.now();
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
    this.ready = new Promise<void>((resolve, reject) => {
      let buffered = '';
      this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        if (!this.isReady && buffered.includes('"event":"ready"')) {
          this.isReady = true;
          resolve();
        }
      });
      void this.exited.then(() =>
        reject(
          new Error(
            `worker ${this.workerId} exited (${this.exitCode ?? this.exitSignal}) before ready: ${this.stderr}`,
          ),
        ),
      );
    });
    this.ready.catch(() => undefined);
  }

  get workerId(): string {
    return this.options.workerId;
  }
}

export function startWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  return new WorkerProcess(options);
}

export function isAlive(worker: WorkerProcess): boolean {
  return worker.exitedAt === undefined;
}

/** SIGKILL: no cleanup, the lease is left to expire. Resolves once the parent has seen the exit. */
export async function killWorker(worker: WorkerProcess): Promise<void> {
  if (!isAlive(worker)) return;
  worker.killedAt = Date.now();
  worker.child.kill('SIGKILL');
  await worker.exited;
}

/** SIGTERM every live worker (graceful release), SIGKILL whoever is still alive after `graceMs`. */
export async function stopWorkers(workers: readonly WorkerProcess[], graceMs = 5_000): Promise<void> {
  const alive = workers.filter(isAlive);
  for (const worker of alive) worker.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const worker of alive.filter(isAlive)) worker.child.kill('SIGKILL');
  }, graceMs);
  await Promise.all(alive.map((worker) => worker.exited));
  clearTimeout(timer);
}
