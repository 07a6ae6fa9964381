/**
 * @module `npm run bench:sessions`: the orchestration overhead of agent sessions against a zero-latency scripted
 * model. Each session is a real task through Auto-Dev's runtime (`createAgentTaskHandler`: workspace clone, session
 * dir and home, bubblewrap wrapper, the REAL Claude Code / Codex CLI, `autodev mcp`, transcript, in-sandbox save,
 * result checks) and the completing transaction, on SQLite and PostgreSQL; only the model is a stand-in answering at
 * once (test/support/scripted-*.ts). A builder-like script (read_task, write a file, `git add -A && git commit`,
 * submit_result) and a reviewer-like one (read_task, `git diff`, submit_result) run one session at a time.
 *
 * Where the time went is cut from one timeline measured outside the runtime (bench/session-timing.ts): the task's
 * claim and completion (timed here), the handler's start and end, the CLI session's start and end (a wrapped
 * provider), each model request's arrival and answer (the stand-ins), and every database query and transaction (a
 * logging Kysely). Then `session-bare-costs.ts` times the parts alone (bwrap, CLI starts, the MCP handshake, the
 * clone, the save). Results table on stdout, progress on stderr.
 *
 * Knobs (env): AUTODEV_BENCH_SESSIONS (5 measured sessions per provider and role), AUTODEV_BENCH_ENGINES
 * (`sqlite,postgres`), AUTODEV_BENCH_PROVIDERS (`claude,codex`), AUTODEV_BENCH_BARE_RUNS (5; 0 skips the bare costs),
 * AUTODEV_BENCH_CLI_ENV (a JSON object of extra CLI environment for both providers' settings `env`, to try a
 * setting, e.g. `{"ENABLE_TOOL_SEARCH":"false"}`; printed in the report).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../src/agents/run-agent-task.js';
import { settingsProviderFactory } from '../src/agents/provider-factory.js';
import type { LlmProviderName, Settings } from '../src/config/settings-schema.js';
import { TASK_TYPES_BY_ROLE, type Role } from '../src/domain/roles.js';
import type { LeaseHolder } from '../src/queue/lease.js';
import type { HandlerOutcome } from '../src/queue/run-worker.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../src/store/open-database.js';
import { gitIn, makeGitRepo, registerRepo } from '../test/support/agent-fixtures.js';
import { realCliRuntime, type ModelStandIns, type RealCliRuntime } from '../test/support/real-cli-sessions.js';
import type { AgentStep, PromptFacts, StepContext } from '../src/demo/scripted-agent.js';
import { formatTable, percentile, preciseNow, progress, type Cell } from './bench-report.js';
import { measureBareCosts, type BareCost } from './session-bare-costs.js';
import {
  busyWithin,
  startTimedStandIns,
  timedDatabase,
  timedProviders,
  TimedAgents,
  type DbInterval,
  type Interval,
} from './session-timing.js';
import { scratchPostgres } from './scratch-postgres.js';

export interface SessionBenchConfig {
  sessions: number;
  engines: readonly Engine[];
  providers: readonly LlmProviderName[];
  bareRuns: number;
  /** Extra environment for the CLIs (settings `llm.providers.*.env`), to measure a setting's effect. */
  cliEnv: Record<string, string>;
}

type Engine = 'sqlite' | 'postgres';
const ROLES = ['builder', 'reviewer'] as const satisfies readonly Role[];
type BenchRole = (typeof ROLES)[number];

/** The overhead target per session (issue 10): wall time minus model time. */
const TARGET_MS = 2_000;

function listFrom<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((v) => v.trim());
  const wrong = items.find((v) => !(allowed as readonly string[]).includes(v));
  if (wrong !== undefined || items.length === 0)
    throw new Error(`${name} lists ${allowed.join(' and/or ')} (got ${value})`);
  return items as T[];
}

function cliEnvFrom(text: string | undefined): Record<string, string> {
  if (!text) return {};
  const value = JSON.parse(text) as unknown;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.values(value).every((v) => typeof v === 'string')
  ) {
    throw new Error(`AUTODEV_BENCH_CLI_ENV must be a JSON object of strings (got ${text})`);
  }
  return value as Record<string, string>;
}

export function readSessionBenchConfig(env: NodeJS.ProcessEnv = process.env): SessionBenchConfig {
  const int = (name: string, fallback: number, min: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of ${min} or more`);
    return value;
  };
  return {
    sessions: int('AUTODEV_BENCH_SESSIONS', 5, 1),
    engines: listFrom('AUTODEV_BENCH_ENGINES', env.AUTODEV_BENCH_ENGINES ?? 'sqlite,postgres', ['sqlite', 'postgres']),
    providers: listFrom('AUTODEV_BENCH_PROVIDERS', env.AUTODEV_BENCH_PROVIDERS ?? 'claude,codex', ['claude', 'codex']),
    bareRuns: int('AUTODEV_BENCH_BARE_RUNS', 5, 0),
    cliEnv: cliEnvFrom(env.AUTODEV_BENCH_CLI_ENV),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The scripted agents

const FILE = 'src/export.js';
const CONTENT =
  'export function ordersCsv(orders) {\n  return orders.map((o) => `${o.id},${o.total}`).join("\\n");\n}\n';
const FEATURE_SUBJECT = 'Add CSV export of orders';

function builderScript(facts: PromptFacts): AgentStep[] {
  const message = `feat: export orders as CSV (task ${facts.taskId ?? '?'})`;
  const sha = (context: StepContext) => /\b([0-9a-f]{40})\b/.exec(context.results[2]?.output ?? '')?.[1] ?? 'none';
  return [
    { mcp: { tool: 'read_task', input: {} }, expect: { outputIncludes: '"type": "implement_feature"' } },
    { write: { path: FILE, content: CONTENT } },
    { bash: `git add -A && git commit -q -m "${message}" && git rev-parse HEAD`, expect: { exitCode: 0 } },
    {
      mcp: {
        tool: 'submit_result',
        input: (context) => ({
          status: 'done',
          summary: 'Added ordersCsv and committed it.',
          branch: facts.branch ?? 'unknown-branch',
          commits: [{ sha: sha(context), message }],
          files_changed: [FILE],
        }),
      },
      expect: { outputIncludes: 'result recorded' },
    },
    { say: 'Implemented and committed.' },
  ];
}

const REVIEW_RESULT = { status: 'done', summary: 'One small, correct function.', verdict: 'approve', findings: [] };

function reviewerScript(): AgentStep[] {
  return [
    { mcp: { tool: 'read_task', input: {} }, expect: { outputIncludes: '"type": "review_mr"' } },
    { bash: 'git diff main...HEAD', expect: { exitCode: 0, outputIncludes: 'ordersCsv' } },
    { mcp: { tool: 'submit_result', input: REVIEW_RESULT }, expect: { outputIncludes: 'result recorded' } },
    { say: 'Approved.' },
  ];
}

function chooseScript(_prompt: string, facts: PromptFacts): AgentStep[] {
  if (facts.taskType === 'implement_feature') return builderScript(facts);
  if (facts.taskType === 'review_mr') return reviewerScript();
  throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
}

// ---------------------------------------------------------------------------------------------------------------------
// One session, timed

/** The phases of one session, in ms; together with `modelMs` they add up to `wallMs`. */
export const PHASES = [
  ['claim', 'claim the task (database)'],
  ['workspace', 'workspace prep: repository lookup + task clone (git)'],
  ['setupDb', 'session setup, database: session row, instructions, parent results'],
  ['setup', 'session setup, files: session dir + home, context, prompt, sandbox wrapper'],
  ['cliStart', 'CLI start to first model request (SDK, bwrap, CLI boot)'],
  ['mcp', 'MCP: tool search + MCP tool calls, until the next model request'],
  ['tools', "agent tools: Write/apply_patch, Bash (the agent's own git commit)"],
  ['cliExit', 'CLI exit: last model answer to the session ending'],
  ['postDb', 'after the session, database: transcript flush, session row'],
  ['save', 'after the session: in-sandbox save + bundle import (builder), result checks'],
  ['complete', 'completion transaction (task, events, workflow)'],
  ['other', 'everything else'],
] as const;
export type Phase = (typeof PHASES)[number][0];

export interface SessionTiming {
  engine: Engine;
  provider: LlmProviderName;
  role: BenchRole;
  taskId: number;
  wallMs: number;
  modelMs: number;
  phases: Record<Phase, number>;
  /** Database time while the CLI ran (transcript batches): not on the session's path. */
  concurrentDbMs: number;
  requests: number;
}

interface BenchRuntime {
  engine: Engine;
  provider: LlmProviderName;
  runtime: RealCliRuntime;
  deps: AgentRuntimeDeps;
  db: DbInterval[];
  runs: Interval[];
  agents: TimedAgents;
  repos: Record<BenchRole, { id: number; path: string }>;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

async function timeOneSession(bench: BenchRuntime, role: BenchRole): Promise<SessionTiming> {
  const { runtime, agents } = bench;
  const queue = runtime.queue;
  const repo = bench.repos[role];
  const task = await queue.enqueue(
    role === 'builder'
      ? {
          type: 'implement_feature',
          payload: { title: 'CSV export', story: 'As a shop owner I can export orders as CSV.' },
          repoId: repo.id,
          createdBy: 'bench',
        }
      : {
          type: 'review_mr',
          payload: { title: 'CSV export', branch: 'feature/csv', target_branch: 'main' },
          repoId: repo.id,
          createdBy: 'bench',
        },
  );
  bench.db.length = 0;
  bench.runs.length = 0;
  agents.requests = [];
  const failuresBefore = agents.failures.length;
  const workerId = `${role}-bench`;
  const handler = createAgentTaskHandler(bench.deps, role);

  const claimStart = preciseNow();
  const claimed = await queue.claim(workerId, TASK_TYPES_BY_ROLE[role]);
  const handlerStart = preciseNow();
  if (claimed?.id !== task.id) throw new Error(`claimed task ${claimed?.id ?? 'none'}, expected ${task.id}`);
  const holder: LeaseHolder = { taskId: task.id, workerId };
  let outcome: HandlerOutcome;
  try {
    outcome = await handler(claimed, { signal: new AbortController().signal, holder });
  } catch (error) {
    const failures = agents.failures.slice(failuresBefore);
    throw new Error(
      `${bench.engine} ${bench.provider} ${role} task ${task.id} failed: ${error instanceof Error ? error.message : String(error)}` +
        (failures.length ? `; stand-in saw: ${JSON.stringify(failures)}` : ''),
    );
  }
  const handlerEnd = preciseNow();
  const { onComplete } = outcome;
  await queue.handle.db.transaction().execute(async (tx) => {
    await queue.complete(holder, outcome.result, tx);
    await onComplete?.(tx, claimed);
  });
  const completeEnd = preciseNow();

  const failures = agents.failures.slice(failuresBefore);
  if (failures.length > 0) throw new Error(`the scripted ${role} went wrong: ${JSON.stringify(failures)}`);
  checkOutcome(bench, role, outcome.result);

  const run = bench.runs[0];
  const requests = agents.requests;
  if (!run || requests.length === 0) throw new Error(`task ${task.id}: no CLI session or no model request was seen`);
  const insertSession = bench.db.find((q) => q.what === 'insert sessions' && q.start >= handlerStart);
  if (!insertSession) throw new Error(`task ${task.id}: the session row's insert was not seen`);
  const modelMs = sum(requests.map((r) => r.answeredAt - r.arrivedAt));
  // Time after each answer until the next request, by what the answer asked the CLI to do.
  const afterAnswer = { mcp: 0, tools: 0 };
  for (let i = 0; i + 1 < requests.length; i++) {
    const gap = requests[i + 1]!.arrivedAt - requests[i]!.answeredAt;
    const kind = requests[i]!.kind;
    if (kind === 'mcp' || kind === 'tool_search') afterAnswer.mcp += gap;
    else afterAnswer.tools += gap;
  }
  const dbIn = (start: number, end: number) => busyWithin(bench.db, { start, end });
  const beforeInsertDb = dbIn(handlerStart, insertSession.start);
  const phases: Record<Phase, number> = {
    claim: handlerStart - claimStart,
    workspace: insertSession.start - handlerStart - beforeInsertDb,
    setupDb: dbIn(insertSession.start, run.start) + beforeInsertDb,
    setup: run.start - insertSession.start - dbIn(insertSession.start, run.start),
    cliStart: requests[0]!.arrivedAt - run.start,
    mcp: afterAnswer.mcp,
    tools: afterAnswer.tools,
    cliExit: run.end - requests.at(-1)!.answeredAt,
    postDb: dbIn(run.end, handlerEnd),
    save: handlerEnd - run.end - dbIn(run.end, handlerEnd),
    complete: completeEnd - handlerEnd,
    other: 0,
  };
  const wallMs = completeEnd - claimStart;
  phases.other = wallMs - modelMs - sum(Object.values(phases));
  return {
    engine: bench.engine,
    provider: bench.provider,
    role,
    taskId: task.id,
    wallMs,
    modelMs,
    phases,
    concurrentDbMs: dbIn(run.start, run.end),
    requests: requests.length,
  };
}

/** The session did its job: a builder's own commit is on its task branch, a reviewer's verdict came through. */
function checkOutcome(bench: BenchRuntime, role: BenchRole, result: unknown): void {
  if (role === 'reviewer') {
    if ((result as { verdict?: string }).verdict !== 'approve')
      throw new Error(`reviewer result ${JSON.stringify(result)}`);
    return;
  }
  const { branch, commits } = result as { branch: string; commits: { sha: string }[] };
  const sha = commits[0]?.sha ?? '';
  gitIn(bench.repos.builder.path, 'merge-base', '--is-ancestor', sha, branch);
}

// ---------------------------------------------------------------------------------------------------------------------
// Runs

async function reviewRepo(runtime: RealCliRuntime): Promise<{ id: number; path: string }> {
  const repo = makeGitRepo(runtime.root, 'reviewed');
  gitIn(repo.path, 'checkout', '--quiet', '-b', 'feature/csv');
  fs.mkdirSync(path.join(repo.path, 'src'));
  fs.writeFileSync(path.join(repo.path, FILE), CONTENT);
  gitIn(repo.path, 'add', '--all');
  gitIn(repo.path, '-c', 'user.name=Dev', '-c', 'user.email=dev@localhost', 'commit', '-q', '-m', FEATURE_SUBJECT);
  gitIn(repo.path, 'checkout', '--quiet', 'main');
  return {
    path: repo.path,
    id: await registerRepo(runtime.queue.handle.db, {
      name: `${runtime.deps.settings.llm.default_provider}-reviewed`,
      location: repo.path,
    }),
  };
}

/** `settings` with `extra` added to each CLI provider's `env`. */
function withCliEnv(settings: Settings, extra: Record<string, string>): Settings {
  const { claude, codex } = settings.llm.providers;
  return {
    ...settings,
    llm: {
      ...settings.llm,
      providers: {
        ...settings.llm.providers,
        claude: { ...claude, env: { ...claude.env, ...extra } },
        codex: { ...codex, env: { ...codex.env, ...extra } },
      },
    },
  };
}

/** A runtime for one engine and provider, on its own timed handle, with a repository per role. */
async function benchRuntime(
  engine: Engine,
  handle: DatabaseHandle,
  provider: LlmProviderName,
  standIns: ModelStandIns,
  agents: TimedAgents,
  config: SessionBenchConfig,
): Promise<BenchRuntime> {
  const db: DbInterval[] = [];
  const timed = timedDatabase(handle, db);
  const runtime = realCliRuntime(timed, standIns, provider);
  const runs: Interval[] = [];
  const settings = withCliEnv(runtime.deps.settings, config.cliEnv);
  const deps = {
    ...runtime.deps,
    settings,
    createProvider: timedProviders(settingsProviderFactory({ settings }), runs),
  };
  const built = makeGitRepo(runtime.root, 'built');
  const repos = {
    builder: {
      path: built.path,
      id: await registerRepo(timed.db, { name: `${provider}-built`, location: built.path }),
    },
    reviewer: await reviewRepo(runtime),
  };
  return { engine, provider, runtime, deps, db, runs, agents, repos };
}

/**
 * Runs the sessions interleaved (round n of every engine, provider and role before round n + 1), so load from
 * elsewhere on a shared machine falls on every group alike; one warm-up session per group first, not counted.
 */
async function runInterleaved(benches: readonly BenchRuntime[], config: SessionBenchConfig): Promise<SessionTiming[]> {
  const timings: SessionTiming[] = [];
  progress('one warm-up session per engine, provider and role (not counted)');
  for (const bench of benches) for (const role of ROLES) await timeOneSession(bench, role);
  for (let n = 1; n <= config.sessions; n++) {
    for (const bench of benches) {
      for (const role of ROLES) {
        const timing = await timeOneSession(bench, role);
        progress(
          `${bench.engine} ${bench.provider} ${role} ${n}/${config.sessions}: wall ${timing.wallMs.toFixed(0)} ms, ` +
            `overhead ${(timing.wallMs - timing.modelMs).toFixed(0)} ms`,
        );
        timings.push(timing);
      }
    }
  }
  return timings;
}

interface OpenEngine {
  engine: Engine;
  handle: DatabaseHandle;
  release(): Promise<void>;
}

/** A migrated database per engine asked for: a temp SQLite file, a scratch PostgreSQL database (if available). */
async function openEngines(config: SessionBenchConfig): Promise<OpenEngine[]> {
  const opened: OpenEngine[] = [];
  if (config.engines.includes('sqlite')) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-sessions-'));
    const handle = await openDatabase({ sqlitePath: path.join(dir, 'autodev.db') });
    opened.push({
      engine: 'sqlite',
      handle,
      release: async () => {
        await handle.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    });
  }
  if (config.engines.includes('postgres')) {
    const postgres = await scratchPostgres();
    if (!postgres) progress('postgres skipped: not installed and AUTODEV_BENCH_DATABASE_URL not set');
    else {
      const handle = await openDatabase({ databaseUrl: postgres.url });
      opened.push({
        engine: 'postgres',
        handle,
        release: async () => {
          await handle.close();
          await postgres.release();
        },
      });
    }
  }
  for (const { handle } of opened) await migrateToLatest(handle);
  return opened;
}

// ---------------------------------------------------------------------------------------------------------------------
// Report

/** The buckets: which phases each adds up. */
const BUCKETS: ReadonlyArray<[name: string, phases: readonly Phase[]]> = [
  ['CLI start (SDK + bwrap + CLI boot)', ['cliStart', 'cliExit']],
  ['MCP (tool search + calls)', ['mcp']],
  ['git (clone + save)', ['workspace', 'save']],
  ['database (claim, rows, transcript, completion)', ['claim', 'setupDb', 'postDb', 'complete']],
  ['agent tools (Write, Bash: its own commit)', ['tools']],
  ['session files + other', ['setup', 'other']],
];

function cell(samples: readonly number[]): string {
  return `${percentile(samples, 50).toFixed(0)} / ${percentile(samples, 100).toFixed(0)}`;
}

function groupKey(t: SessionTiming): string {
  return `${t.engine} ${t.provider} ${t.role}`;
}

export function sessionReport(
  timings: readonly SessionTiming[],
  bare: readonly BareCost[],
  config: SessionBenchConfig,
) {
  const groups = new Map<string, SessionTiming[]>();
  for (const t of timings) groups.set(groupKey(t), [...(groups.get(groupKey(t)) ?? []), t]);
  const names = [...groups.keys()];
  const column = (pick: (t: SessionTiming) => number) => names.map((name) => cell(groups.get(name)!.map(pick)));
  const overhead = (t: SessionTiming) => t.wallMs - t.modelMs;
  const rows: Cell[][] = [
    ['wall', ...column((t) => t.wallMs)],
    ['model (stand-in answering)', ...column((t) => t.modelMs)],
    ['OVERHEAD = wall - model', ...column(overhead)],
    ...PHASES.map(([phase, label]): Cell[] => [`  ${label}`, ...column((t) => t.phases[phase])]),
    ['(database during the CLI run, off the path)', ...column((t) => t.concurrentDbMs)],
    ['model requests', ...column((t) => t.requests)],
  ];
  const sessionTable = formatTable(['ms, p50 / max', ...names], rows);

  const bucketRows = BUCKETS.map(([name, phases]): Cell[] => {
    const values = timings.map((t) => sum(phases.map((p) => t.phases[p])));
    const share = sum(values) / sum(timings.map(overhead));
    return [name, percentile(values, 50), percentile(values, 100), `${(share * 100).toFixed(0)}%`];
  });
  const bucketTable = formatTable(['all sessions, by kind of overhead', 'p50 ms', 'max ms', 'share'], bucketRows);

  const bareTable = formatTable(
    ['bare cost (each alone)', 'runs', 'p50 ms', 'max ms', 'CPU p50 ms', 'command'],
    bare.map((b): Cell[] => [
      b.name,
      b.samples.length,
      percentile(b.samples, 50),
      percentile(b.samples, 100),
      b.cpu && percentile(b.cpu, 50),
      b.command,
    ]),
  );

  const verdicts = names.map((name) => {
    const p50 = percentile(groups.get(name)!.map(overhead), 50);
    return `${name}: overhead p50 ${p50.toFixed(0)} ms, target <= ${TARGET_MS} ms ${p50 <= TARGET_MS ? 'met' : 'MISSED'}`;
  });
  const ranked = BUCKETS.map(([name, phases]) => ({
    name,
    total: sum(timings.map((t) => sum(phases.map((p) => t.phases[p])))),
  })).sort((a, b) => b.total - a.total);
  const all = sum(timings.map(overhead));
  const dominates = ranked
    .slice(0, 2)
    .map((b) => `${b.name} ${((b.total / all) * 100).toFixed(0)}%`)
    .join(', then ');
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const header =
    `Session overhead benchmark: ${config.sessions} measured sessions per engine, provider and role (after one ` +
    `warm-up each), one at a time, interleaved (round n of every group before round n + 1), real CLIs sandboxed with bubblewrap${process.getuid?.() === 0 ? ' (as root)' : ''}, ` +
    `model stand-ins answering at once. ${os.cpus().length} CPUs, node ${process.version}, load average ${load} ` +
    `(1/5/15 min) at the end: wall times include the wait for a CPU on a shared machine.` +
    (Object.keys(config.cliEnv).length ? ` Extra CLI environment: ${JSON.stringify(config.cliEnv)}.` : '');
  return [
    header,
    '',
    sessionTable,
    '',
    bucketTable,
    '',
    bareTable,
    '',
    ...verdicts,
    `What dominates: ${dominates} of all overhead.`,
  ].join('\n');
}

/** Runs the whole benchmark and returns the report (also printed by the command). */
export async function runSessionOverheadBench(config: SessionBenchConfig = readSessionBenchConfig()): Promise<string> {
  const agents = new TimedAgents(chooseScript);
  const standIns = await startTimedStandIns(agents);
  const engines: OpenEngine[] = [];
  const benches: BenchRuntime[] = [];
  try {
    engines.push(...(await openEngines(config)));
    for (const { engine, handle } of engines) {
      for (const provider of config.providers) {
        benches.push(await benchRuntime(engine, handle, provider, standIns, agents, config));
      }
    }
    const timings = await runInterleaved(benches, config);
    const bare = config.bareRuns > 0 ? await measureBareCosts(config.bareRuns, config.providers) : [];
    return sessionReport(timings, bare, config);
  } finally {
    for (const bench of benches) await bench.runtime.close();
    for (const engine of engines) await engine.release();
    await standIns.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSessionOverheadBench().then(
    (report) => {
      process.stdout.write(`${report}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench:sessions failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
