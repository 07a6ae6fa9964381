/**
 * @module `npm run bench:api`: API latency with a big task table (issue 17). A scratch PostgreSQL database
 * (AUTODEV_BENCH_DATABASE_URL's server or a throwaway cluster), migrated, filled with `--tasks N` (1,000,000) tasks in
 * one `insert ... select from generate_series` (a spread of statuses, types, priorities, stories, repositories and
 * creation times over a year), a story per 50 tasks (20,000 at a million) and a session (cost, tokens) per task that
 * started, then ANALYZEd. The real server (`buildServer`) runs in this
 * process; a SECOND process (a fork of this file) fires `--requests N` (200) sequential requests per route over one
 * keep-alive connection and sends back each latency: every task list filter the API has (status, type, role, story;
 * the list has no repository filter), cursor pages followed deep, task detail, task counts, `/health`, `/ready` and
 * the story board's pages (first, deep, by status, by repository). Prints p50/p99/max per route against the 20 ms p99 target; for each route that misses it, the
 * slowest SQL statement the route ran and its `EXPLAIN (ANALYZE, BUFFERS)` plan.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CompiledQuery,
  createQueryId,
  sql,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type Kysely,
} from 'kysely';
import { TASK_TYPES } from '../src/domain/roles.js';
import { createLogger } from '../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../src/queue/task-queue.js';
import { ensureAdminToken } from '../src/server/api-tokens.js';
import { buildServer } from '../src/server/build-server.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../src/store/open-database.js';
import type { Database } from '../src/store/schema.js';
import { formatTable, percentile, preciseNow, progress, type Cell } from './bench-report.js';
import { scratchPostgres } from './scratch-postgres.js';

export interface ApiBenchConfig {
  tasks: number;
  requests: number;
}

/** The issue's target for every route. */
export const TARGET_P99_MS = 20;

/** `--tasks N` and `--requests N` from the command line. */
export function readApiBenchConfig(argv: readonly string[] = process.argv.slice(2)): ApiBenchConfig {
  const config: ApiBenchConfig = { tasks: 1_000_000, requests: 200 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag !== '--tasks' && flag !== '--requests')
      throw new Error(`unknown option ${flag} (--tasks N, --requests N)`);
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a whole number of 1 or more`);
    config[flag === '--tasks' ? 'tasks' : 'requests'] = value;
  }
  return config;
}

// ---------------------------------------------------------------------------------------------------------------------
// The data

const DAY_MS = 86_400_000;
const TASKS_PER_STORY = 50;
const REPOS = 20;
/** The newest tasks, pending or in progress: 2 % of a small table, at most 2,000 (a busy swarm's backlog). */
const ACTIVE = (tasks: number) => Math.min(Math.ceil(tasks / 50), 2_000);

/** Fills the migrated database with `tasks` tasks, `tasks / 50` stories and 20 repositories, in a few statements. */
export async function seedTasks(db: Kysely<Database>, tasks: number, now: number): Promise<{ stories: number }> {
  const stories = Math.max(1, Math.floor(tasks / TASKS_PER_STORY));
  const start = now - 365 * DAY_MS;
  await sql`insert into repositories (name, forge, location, default_branch, settings, created_at, updated_at)
    select 'repo-' || g, 'local', '/srv/repos/repo-' || g, 'main', '{}', ${sql.lit(start)}, ${sql.lit(start)}
    from generate_series(1, ${sql.lit(REPOS)}) g`.execute(db);
  // Stories: most finished, the newest ones still running or waiting for a human.
  await sql`insert into workflows (kind, status, stage, title, body, repo_id, state, created_by, created_at, updated_at)
    select 'story',
      case when g > ${sql.lit(stories)} - 40 then (case when g % 4 = 0 then 'waiting_for_human' else 'running' end)
           when g % 20 = 0 then 'failed' when g % 33 = 0 then 'cancelled' else 'completed' end,
      case when g > ${sql.lit(stories)} - 40 then 'build' else 'done' end,
      'Story ' || g, 'As a user I want feature ' || g || '.', 1 + g % ${sql.lit(REPOS)},
      '{}', 'bench', ${sql.lit(start)} + (g::bigint * ${sql.lit(Math.floor((365 * DAY_MS) / stories))}),
      ${sql.lit(start)} + (g::bigint * ${sql.lit(Math.floor((365 * DAY_MS) / stories))})
    from generate_series(1, ${sql.lit(stories)}) g`.execute(db);
  // Tasks, oldest first: 4 in 5 belong to a story (in order: each run of 50 tasks gives its story 40); the newest are
  // pending or in progress.
  const step = Math.max(1, Math.floor((365 * DAY_MS) / tasks));
  await sql`insert into tasks (type, status, priority, payload, attempts, max_attempts, run_after, workflow_id,
      repo_id, created_by, created_at, updated_at, started_at, finished_at, lease_owner, lease_expires_at)
    select t.type, t.status, 1 + (g * 7) % 10, '{"title":"task ' || g || '"}',
      case when t.status = 'pending' then 0 else 1 end, 3, t.created, t.story, 1 + (g * 13) % ${sql.lit(REPOS)}, 'bench',
      t.created, t.created + 60000,
      case when t.status = 'pending' then null else t.created + 1000 end,
      case when t.status in ('pending', 'in_progress') then null else t.created + 60000 end,
      case when t.status = 'in_progress' then 'worker-' || g % 8 else null end,
      case when t.status = 'in_progress' then ${sql.lit(now)} + 600000 else null end
    from generate_series(1::bigint, ${sql.lit(tasks)}) g,
    lateral (select
      (${sql.val(TASK_TYPES as string[])}::text[])[(1 + (g * 7919) % ${sql.lit(TASK_TYPES.length)})::int] as type,
      case when g > ${sql.lit(tasks)} - ${sql.lit(ACTIVE(tasks))} then (case when g % 3 = 0 then 'in_progress' else 'pending' end)
           when g % 25 = 0 then 'failed' when g % 40 = 0 then 'cancelled' else 'completed' end as status,
      ${sql.lit(start)} + g::bigint * ${sql.lit(step)} as created,
      case when g % 5 = 0 then null else least(${sql.lit(stories)}, 1 + (g - 1) / ${sql.lit(TASKS_PER_STORY)}) end as story
    ) t`.execute(db);
  // A session per task that ever started (its cost and tokens), so the board's costs and the list's extras read real
  // rows.
  await sql`insert into sessions (task_id, role, provider, status, outcome, tokens_in, tokens_out, cost_usd,
      started_at, finished_at)
    select id, 'builder', case when id % 4 = 0 then 'codex' else 'claude' end,
      case when status = 'in_progress' then 'running' else 'succeeded' end,
      case when status = 'in_progress' then null else 'succeeded' end,
      1000 + id % 5000, 200 + id % 700, (id % 97) / 100.0, started_at,
      case when status = 'in_progress' then null else finished_at end
    from tasks where started_at is not null`.execute(db);
  await sql`analyze`.execute(db);
  return { stories };
}

// ---------------------------------------------------------------------------------------------------------------------
// The routes and the client process

export interface RouteSpec {
  name: string;
  /** A fixed path, or a list to go through in turn (task details). */
  paths: string[];
  /** Follow `next_cursor` from one request to the next (restarting at the first page when it runs out). */
  followCursor?: boolean;
}

function routes(tasks: number, stories: number): RouteSpec[] {
  const list = (query: string) => `/api/tasks${query ? `?${query}` : ''}`;
  const ids = Array.from({ length: 97 }, (_, i) => 1 + Math.floor(((i * 7919) % 97) * (tasks / 97)));
  return [
    { name: 'GET /health', paths: ['/health'] },
    { name: 'GET /ready', paths: ['/ready'] },
    { name: 'tasks: first page', paths: [list('')] },
    { name: 'tasks: cursor pages (deep)', paths: [list('')], followCursor: true },
    ...(['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const).map((status) => ({
      name: `tasks: status=${status}`,
      paths: [list(`status=${status}`)],
    })),
    { name: 'tasks: status=completed, cursor pages', paths: [list('status=completed')], followCursor: true },
    { name: 'tasks: type=implement_feature', paths: [list('type=implement_feature')] },
    { name: 'tasks: type=review_mr, cursor pages', paths: [list('type=review_mr')], followCursor: true },
    { name: 'tasks: role=builder', paths: [list('role=builder')] },
    { name: 'tasks: role=devops, cursor pages', paths: [list('role=devops')], followCursor: true },
    { name: 'tasks: role=pm&status=pending', paths: [list('role=pm&status=pending')] },
    { name: 'tasks: story=<id>', paths: [1, 2, 3, 5, 8].map((k) => list(`story=${Math.max(1, stories - k * 7)}`)) },
    {
      name: 'tasks: story=<id>&status=completed',
      paths: [list(`story=${Math.max(1, Math.floor(stories / 2))}&status=completed`)],
    },
    { name: 'tasks: /counts', paths: ['/api/tasks/counts'] },
    { name: 'task detail /api/tasks/:id', paths: ids.map((id) => `/api/tasks/${id}`) },
    { name: 'story board: first page', paths: ['/api/story-board'] },
    { name: 'story board: cursor pages (deep)', paths: ['/api/story-board'], followCursor: true },
    { name: 'story board: status=running', paths: ['/api/story-board?status=running'] },
    {
      name: 'story board: status=completed, cursor pages',
      paths: ['/api/story-board?status=completed'],
      followCursor: true,
    },
    { name: 'story board: repo=repo-7, cursor pages', paths: ['/api/story-board?repo=repo-7'], followCursor: true },
  ];
}

interface ClientRequest {
  port: number;
  token: string;
  requests: number;
  routes: RouteSpec[];
}

function get(agent: http.Agent, port: number, token: string, url: string): Promise<{ ms: number; body: string }> {
  const started = preciseNow();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url, agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const ms = preciseNow() - started;
          const body = Buffer.concat(chunks).toString();
          if (response.statusCode !== 200)
            reject(new Error(`GET ${url}: HTTP ${response.statusCode} ${body.slice(0, 300)}`));
          else resolve({ ms, body });
        });
      })
      .on('error', reject);
  });
}

/** The child: times every route in turn, a few warm-up requests first, and sends back the samples. */
async function runClient(job: ClientRequest): Promise<Record<string, number[]>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: Record<string, number[]> = {};
  for (const route of job.routes) {
    const times: number[] = [];
    let cursor: string | null = null;
    for (let i = -5; i < job.requests; i++) {
      let url = route.paths[(i + 5) % route.paths.length]!;
      if (route.followCursor && cursor) url += `${url.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`;
      const { ms, body } = await get(agent, job.port, job.token, url);
      if (route.followCursor) cursor = (JSON.parse(body) as { next_cursor: string | null }).next_cursor;
      if (i >= 0) times.push(ms);
    }
    samples[route.name] = times;
  }
  agent.destroy();
  return samples;
}

// ---------------------------------------------------------------------------------------------------------------------
// The slowest statement of a route, and its plan

interface LoggedQuery {
  sql: string;
  parameters: readonly unknown[];
  ms: number;
}

/** Records each query's compiled SQL and duration while `recording` is set. */
class SqlRecorder implements KyselyPlugin {
  recording = false;
  readonly queries: LoggedQuery[] = [];
  private readonly open = new WeakMap<object, { node: RootOperationNode; start: number }>();
  constructor(private readonly compile: (node: RootOperationNode) => { sql: string; parameters: readonly unknown[] }) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.recording) this.open.set(args.queryId, { node: args.node, start: preciseNow() });
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const open = this.open.get(args.queryId);
    if (open) this.queries.push({ ...this.compile(open.node), ms: preciseNow() - open.start });
    return Promise.resolve(args.result);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The run

export interface RouteResult {
  name: string;
  samples: number[];
  p50: number;
  p99: number;
  max: number;
}

export interface ApiBenchResult {
  report: string;
  results: RouteResult[];
}

/** Runs the whole benchmark on PostgreSQL and returns the report (also printed by the command). */
export async function runApiLatencyBench(config: ApiBenchConfig = readApiBenchConfig()): Promise<ApiBenchResult> {
  const scratch = await scratchPostgres();
  if (!scratch) {
    const report = 'API latency: PostgreSQL skipped (not installed and AUTODEV_BENCH_DATABASE_URL not set).';
    return { report, results: [] };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-api-'));
  let base: DatabaseHandle | undefined;
  try {
    base = await openDatabase({ databaseUrl: scratch.url });
    await migrateToLatest(base);
    progress(`seeding ${config.tasks.toLocaleString('en-US')} tasks`);
    const seedStart = preciseNow();
    const { stories } = await seedTasks(base.db, config.tasks, Date.now());
    const seedMs = preciseNow() - seedStart;
    progress(`seeded in ${(seedMs / 1000).toFixed(1)} s`);

    const executor = base.db.getExecutor();
    const recorder = new SqlRecorder((node) => executor.compileQuery(node, createQueryId()));
    const handle: DatabaseHandle = { ...base, db: base.db.withPlugin(recorder), close: () => base!.close() };
    const queue = new TaskQueue(handle, DEFAULT_QUEUE_SETTINGS);
    const app = await buildServer({
      handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'bench',
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      const token = fs.readFileSync((await ensureAdminToken(handle.db, dataDir, Date.now())).path, 'utf8').trim();
      const specs = routes(config.tasks, stories);
      progress(`timing ${specs.length} routes, ${config.requests} requests each, from a second process`);
      const samples = await inChild({ port, token, requests: config.requests, routes: specs });
      const results = specs.map((spec): RouteResult => {
        const s = samples[spec.name] ?? [];
        return { name: spec.name, samples: s, p50: percentile(s, 50), p99: percentile(s, 99), max: Math.max(...s) };
      });
      const explains: string[] = [];
      for (const result of results.filter((r) => r.p99 >= TARGET_P99_MS)) {
        const spec = specs.find((s) => s.name === result.name)!;
        recorder.queries.length = 0;
        recorder.recording = true;
        await app.inject({ method: 'GET', url: spec.paths[0]!, headers: { authorization: `Bearer ${token}` } });
        recorder.recording = false;
        const slowest = [...recorder.queries].sort((a, b) => b.ms - a.ms)[0];
        if (!slowest) continue;
        const plan = await base.db.executeQuery<{ 'QUERY PLAN': string }>(
          CompiledQuery.raw(`explain (analyze, buffers) ${slowest.sql}`, [...slowest.parameters]),
        );
        explains.push(
          `${result.name} (p99 ${result.p99.toFixed(1)} ms): slowest statement ${slowest.ms.toFixed(1)} ms of ` +
            `${recorder.queries.length} statements\n  ${slowest.sql}\n  parameters ${JSON.stringify(slowest.parameters)}\n` +
            plan.rows.map((row) => `    ${row['QUERY PLAN']}`).join('\n'),
        );
      }
      return { report: apiReport(config, stories, seedMs, results, explains), results };
    } finally {
      await app.close();
      await queue.close();
    }
  } finally {
    await base?.close();
    await scratch.release();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function inChild(job: ClientRequest): Promise<Record<string, number[]>> {
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (message: { samples?: Record<string, number[]>; error?: string }) => {
      if (message.samples) resolve(message.samples);
      if (message.error) reject(new Error(`client: ${message.error}`));
    });
    child.on('exit', (code) => reject(new Error(`the client process exited with ${code}`)));
    child.send(job);
  });
}

function apiReport(
  config: ApiBenchConfig,
  stories: number,
  seedMs: number,
  results: readonly RouteResult[],
  explains: readonly string[],
): string {
  const ms = (v: number): Cell => v.toFixed(1);
  const rows = results.map((r): Cell[] => [
    r.name,
    r.samples.length,
    ms(r.p50),
    ms(r.p99),
    ms(r.max),
    r.p99 < TARGET_P99_MS ? 'met' : 'MISSED',
  ]);
  const missed = results.filter((r) => r.p99 >= TARGET_P99_MS);
  return [
    `API latency on PostgreSQL: ${config.tasks.toLocaleString('en-US')} tasks, ${stories.toLocaleString('en-US')} stories ` +
      `(seeded in ${(seedMs / 1000).toFixed(1)} s), the real server in one process, ${config.requests} sequential ` +
      `requests per route (after 5 warm-up) from a second process over one keep-alive connection. ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}.`,
    '',
    formatTable(['route', 'requests', 'p50 ms', 'p99 ms', 'max ms', `p99 < ${TARGET_P99_MS} ms`], rows),
    '',
    missed.length === 0
      ? `Every route met the target (p99 < ${TARGET_P99_MS} ms).`
      : `${missed.length} route(s) missed p99 < ${TARGET_P99_MS} ms; the slowest statement of each, with its plan:`,
    ...explains,
  ].join('\n');
}

if (process.argv[2] === '--client') {
  process.once('message', (job: ClientRequest) => {
    runClient(job).then(
      (samples) => process.send?.({ samples }, () => process.exit(0)),
      (error: unknown) => process.send?.({ error: String(error) }, () => process.exit(1)),
    );
  });
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runApiLatencyBench().then(
    ({ report }) => {
      process.stdout.write(`${report}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench:api failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
