/**
 * @module `/health` latency while many event streams are open and tasks are being written: the server (as `autodev
 * up --no-agents` builds it) on SQLite and PostgreSQL, AUTODEV_BENCH_STREAMS (500) `GET /api/events` streams held
 * open and read by a child process, one writer enqueueing tasks (each one an event every stream is sent), and
 * AUTODEV_BENCH_HEALTH_REQUESTS (500) sequential `GET /health` timed from this process. Prints p50/p99/max; no
 * pass/fail. AUTODEV_BENCH_ENGINES narrows the engines; AUTODEV_BENCH_TRACE=1 also lists each request over 20 ms.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SettingsSchema } from '../src/config/settings-schema.js';
import { createLogger } from '../src/log.js';
import { TaskQueue, DEFAULT_QUEUE_SETTINGS } from '../src/queue/task-queue.js';
import { ensureAdminToken } from '../src/server/api-tokens.js';
import { buildServer } from '../src/server/build-server.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../src/store/open-database.js';
import { formatTable, percentile, preciseNow, progress, type Cell } from './bench-report.js';
import { scratchPostgres } from './scratch-postgres.js';

interface SseHealthConfig {
  engines: Array<'sqlite' | 'postgres'>;
  streams: number;
  healthRequests: number;
  /** Pause between two task writes of the writer. */
  writeIntervalMs: number;
  /** Pause between two timed /health requests. */
  healthIntervalMs: number;
}

function readConfig(env: NodeJS.ProcessEnv = process.env): SseHealthConfig {
  const engines = (env.AUTODEV_BENCH_ENGINES ?? 'sqlite,postgres').split(',').map((e) => e.trim());
  return {
    engines: engines.filter((e): e is 'sqlite' | 'postgres' => e === 'sqlite' || e === 'postgres'),
    streams: Number(env.AUTODEV_BENCH_STREAMS ?? 500),
    healthRequests: Number(env.AUTODEV_BENCH_HEALTH_REQUESTS ?? 500),
    writeIntervalMs: 5,
    healthIntervalMs: 10,
  };
}

/** Child process: opens `streams` event streams, reads them, reports "ready" and then event counts on request. */
async function runStreamClients(port: number, token: string, streams: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  let events = 0;
  let ready = 0;
  const requests: http.ClientRequest[] = [];
  // AUTODEV_BENCH_STREAMS=0: the same run without streams, a baseline for the machine's own noise.
  if (streams === 0) process.send?.({ ready: 0 });
  for (let i = 0; i < streams; i++) {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/api/events', agent, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        if (response.statusCode !== 200) {
          process.send?.({ error: `stream ${i}: HTTP ${response.statusCode}` });
          return;
        }
        let first = true;
        response.on('data', (chunk: Buffer) => {
          if (first) {
            first = false;
            if (++ready === streams) process.send?.({ ready });
          }
          events += chunk.toString().split('\nevent: ').length - 1;
        });
      },
    );
    request.on('error', (error) => process.send?.({ error: String(error) }));
    requests.push(request);
  }
  process.on('message', (message: { report?: boolean }) => {
    if (message.report) {
      process.send?.({ events });
      for (const request of requests) request.destroy();
      setTimeout(() => process.exit(0), 100);
    }
  });
}

function getHealth(agent: http.Agent, port: number): Promise<number> {
  const started = preciseNow();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/health', agent }, (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(preciseNow() - started)
            : reject(new Error(`/health: ${response.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

interface EngineResult {
  engine: string;
  streams: number;
  tasks: number;
  events: number;
  samples: number[];
}

async function benchEngine(engine: 'sqlite' | 'postgres', handle: DatabaseHandle, config: SseHealthConfig) {
  await migrateToLatest(handle);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-sse-'));
  const queue = new TaskQueue(handle, DEFAULT_QUEUE_SETTINGS);
  const settings = SettingsSchema.parse({
    server: { max_event_streams: config.streams + 10, max_event_streams_per_token: config.streams + 10 },
  });
  const app = await buildServer({
    handle,
    queue,
    logger: createLogger({ level: 'silent', pretty: false }),
    version: 'bench',
    settings,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const token = fs.readFileSync((await ensureAdminToken(handle.db, dataDir, Date.now())).path, 'utf8').trim();

  progress(`${engine}: opening ${config.streams} event streams`);
  const child = fork(fileURLToPath(import.meta.url), ['--stream-clients', String(port), token, String(config.streams)]);
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { ready?: number; error?: string }) => {
      if (message.ready !== undefined) resolve();
      if (message.error) reject(new Error(message.error));
    });
    child.on('exit', (code) => reject(new Error(`stream clients exited with ${code}`)));
  });

  let writing = true;
  let tasks = 0;
  const writer = (async () => {
    while (writing) {
      await queue.enqueue({ type: 'deploy', payload: { n: tasks }, createdBy: 'bench' });
      tasks++;
      await new Promise((resolve) => setTimeout(resolve, config.writeIntervalMs));
    }
  })();

  progress(`${engine}: timing ${config.healthRequests} GET /health while tasks are written`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  for (let i = 0; i < config.healthRequests; i++) {
    samples.push(await getHealth(agent, port));
    // Spread over seconds, so the requests meet many writes and stream batches.
    await new Promise((resolve) => setTimeout(resolve, config.healthIntervalMs));
  }
  if (process.env.AUTODEV_BENCH_TRACE)
    progress(
      samples
        .map((v, i) => (v > 20 ? `${i}:${v.toFixed(0)}` : ''))
        .filter(Boolean)
        .join(' '),
    );
  writing = false;
  await writer;
  agent.destroy();

  const events = await new Promise<number>((resolve) => {
    child.removeAllListeners('exit');
    child.on('message', (message: { events?: number }) => {
      if (message.events !== undefined) resolve(message.events);
    });
    child.send({ report: true });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  await app.close();
  await queue.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { engine, streams: config.streams, tasks, events, samples } satisfies EngineResult;
}

/** Runs the benchmark on each engine and returns the report. */
export async function runSseHealthBench(config: SseHealthConfig = readConfig()): Promise<string> {
  const results: EngineResult[] = [];
  const notes: string[] = [];
  for (const engine of config.engines) {
    if (engine === 'sqlite') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-sse-db-'));
      const handle = await openDatabase({ sqlitePath: path.join(dir, 'autodev.db') });
      try {
        results.push(await benchEngine(engine, handle, config));
      } finally {
        await handle.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
      continue;
    }
    const scratch = await scratchPostgres();
    if (!scratch) {
      notes.push('PostgreSQL skipped: not installed and AUTODEV_BENCH_DATABASE_URL not set.');
      continue;
    }
    const handle = await openDatabase({ databaseUrl: scratch.url });
    try {
      results.push(await benchEngine(engine, handle, config));
    } finally {
      await handle.close();
      await scratch.release();
    }
  }
  const ms = (value: number): Cell => value.toFixed(1);
  const rows = results.map((r) => [
    r.engine,
    r.streams,
    r.tasks,
    r.events,
    ms(percentile(r.samples, 50)),
    ms(percentile(r.samples, 99)),
    ms(Math.max(...r.samples)),
  ]);
  return [
    `GET /health while ${config.streams} event streams are open and one writer enqueues a task every ~${config.writeIntervalMs} ms`,
    `(${config.healthRequests} sequential requests ${config.healthIntervalMs} ms apart; streams read by a child process; ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)})`,
    formatTable(['engine', 'streams', 'tasks written', 'events delivered', 'p50 ms', 'p99 ms', 'max ms'], rows),
    ...notes,
  ].join('\n');
}

if (process.argv[2] === '--stream-clients') {
  void runStreamClients(Number(process.argv[3]), process.argv[4] ?? '', Number(process.argv[5]));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runSseHealthBench().then(
    (report) => {
      process.stdout.write(`${report}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
