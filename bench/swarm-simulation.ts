/**
 * @module `npm run bench:swarm`: N stories through the REAL queue and story workflow with simulated agent sessions,
 * and how close the makespan comes to its lower bound (issue 17). Store + queue + workflow run for real on SQLite (or
 * PostgreSQL with `--engine postgres`): per-role workers are the queue's own worker loop (`runWorker`) and every
 * completion advances the story in its completing transaction (`onWorkflowTaskCompleted`), as the agent runtime does.
 * Stand-ins: the session (no LLM, no sandbox; it sleeps a log-normal time per role and returns a result that passes
 * the role's result contract), the human (approves spec and merge at once, in the same transaction) and the merge
 * (the workflow's `merge` executor answers `merged`). Providers: a primary with a fixed rate-limit window (a session
 * over the limit gets a 429 with the window's reset after a short wait) and a slower fallback with its own window;
 * with both limited the task is given back with `ReleaseTask` until the first reset, as the runtime does.
 *
 * Lower bound, from the durations the sessions really had (429 attempts included): the largest of the longest story's
 * critical path (user story, spec, build, the slowest of review/tests/security, deploy), per role its work over its
 * workers, and per stage the flow-shop bound (the shortest way to it, its work over its workers, the shortest rest).
 * The ratio makespan / bound says what the orchestration (claims, wake-ups, transactions, rate-limit waits) costs;
 * target within 1.1x. Options: --stories N (120), --engine sqlite|postgres, --minute-ms M (60: real ms per simulated
 * minute of session), --seed S, --rate-limits on|off (on).
 *
 * Why 120 stories by default: the bound leaves out the pipeline's fill (the builders wait for the first specs) and
 * drain (the last builds end unevenly, then their checks and deploy run), which no schedule avoids and which weigh
 * less the more stories there are. At 40 stories the same sessions replayed with zero orchestration cost are already
 * 1.07-1.18x of the bound (10 seeds, no rate limits), and schedules that know every session's length in advance
 * (longest remaining work first; upstream shortest first with builds longest first) did no better (1.10-1.28x): at
 * that size the ratio measures the bound's slack, not the orchestration. `--stories 40` still runs it, and the report
 * always prints the zero-cost replay beside the makespan, so the orchestration's own share is visible at any size.
 */
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROLES, TASK_TYPES_BY_ROLE, type Role } from '../src/domain/roles.js';
import { ReleaseTask, runWorker, type TaskHandler } from '../src/queue/run-worker.js';
import { TaskQueue, type QueueSettings } from '../src/queue/task-queue.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../src/store/open-database.js';
import {
  onWorkflowTaskCompleted,
  startStoryWorkflow,
  type MergeExecutor,
  type WorkflowDeps,
} from '../src/workflow/advance-workflow.js';
import { decideApproval } from '../src/workflow/approvals.js';
import { formatTable, percentile, preciseNow, progress, type Cell } from './bench-report.js';
import { scratchPostgres } from './scratch-postgres.js';

export interface SwarmConfig {
  stories: number;
  engine: 'sqlite' | 'postgres';
  /** Real ms per simulated minute of session. */
  minuteMs: number;
  seed: number;
  workers: Record<Role, number>;
  /** Off: providers never answer 429 (to see the orchestration's own cost). */
  rateLimits?: boolean;
}

export function readSwarmConfig(argv: readonly string[] = process.argv.slice(2)): SwarmConfig {
  const config: SwarmConfig = {
    stories: 120,
    engine: 'sqlite',
    minuteMs: 60,
    seed: 17,
    workers: { pm: 2, architect: 2, builder: 4, reviewer: 2, tester: 2, security: 2, devops: 2, bug_finder: 1 },
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i] ?? '';
    if (flag === '--rate-limits') {
      if (value !== 'on' && value !== 'off') throw new Error('--rate-limits is on or off');
      config.rateLimits = value === 'on';
      continue;
    }
    if (flag === '--engine') {
      if (value !== 'sqlite' && value !== 'postgres') throw new Error('--engine is sqlite or postgres');
      config.engine = value;
      continue;
    }
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new Error(`${flag} needs a whole number of 1 or more`);
    if (flag === '--stories') config.stories = number;
    else if (flag === '--minute-ms') config.minuteMs = number;
    else if (flag === '--seed') config.seed = number;
    else
      throw new Error(
        `unknown option ${flag} (--stories N, --engine sqlite|postgres, --minute-ms M, --seed S, --rate-limits on|off)`,
      );
  }
  return config;
}

// ---------------------------------------------------------------------------------------------------------------------
// The simulated sessions

/**
 * Session time per task type, in simulated minutes: the median and the log-normal sigma. Medians are orders of
 * magnitude of real agent sessions (a user story is quick, a build is the longest); the session-overhead benchmark's
 * ~2 s of orchestration per session is inside them.
 */
const SESSION_MINUTES: Record<string, { median: number; sigma: number }> = {
  create_user_story: { median: 1.5, sigma: 0.4 },
  write_spec: { median: 3, sigma: 0.4 },
  implement_feature: { median: 8, sigma: 0.5 },
  review_mr: { median: 3, sigma: 0.4 },
  run_tests: { median: 2, sigma: 0.3 },
  security_scan: { median: 2, sigma: 0.4 },
  deploy: { median: 1, sigma: 0.3 },
};

const RESULTS: Record<string, (taskId: number) => unknown> = {
  create_user_story: () => ({
    status: 'done',
    summary: 's',
    stories: [{ title: 'T', body: 'B', acceptance_criteria: ['works'] }],
  }),
  write_spec: () => ({
    status: 'done',
    summary: 's',
    spec_markdown: '# Spec',
    files_to_touch: ['a.ts'],
    test_plan: 't',
    risks: [],
  }),
  implement_feature: (id) => ({
    status: 'done',
    summary: 's',
    branch: `autodev/${id}-feature`,
    commits: [{ sha: id.toString(16).padStart(7, 'a'), message: 'm' }],
    files_changed: ['a.ts'],
  }),
  review_mr: () => ({ status: 'done', summary: 's', verdict: 'approve', findings: [] }),
  run_tests: () => ({
    status: 'done',
    summary: 's',
    command: 'npm test',
    passed: 3,
    failed: 0,
    skipped: 0,
    failures: [],
  }),
  security_scan: () => ({ status: 'done', summary: 's', verdict: 'pass', findings: [] }),
  deploy: () => ({ status: 'done', summary: 's', environment: 'prod', outcome: 'succeeded', steps: [], rollback: 'r' }),
};

/** A small seeded generator (mulberry32), so a run can be repeated. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function logNormal(random: () => number, median: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return median * Math.exp(sigma * z);
}

/** A provider's fixed rate-limit window: `limit` sessions started per `windowMs`, then 429 until the window resets. */
class RateWindow {
  private windowStart = 0;
  private started = 0;
  limited = 0;
  constructor(
    readonly name: string,
    private readonly limit: number,
    private readonly windowMs: number,
    /** Session time factor against the primary's. */
    readonly slowdown: number,
  ) {}

  /** Starts a session now, or answers the reset time of the window (a 429). */
  take(now: number): { ok: true } | { ok: false; resetAt: number } {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.started = 0;
    }
    if (this.started < this.limit) {
      this.started++;
      return { ok: true };
    }
    this.limited++;
    return { ok: false, resetAt: this.windowStart + this.windowMs };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SessionRecord {
  taskId: number;
  type: string;
  role: Role;
  workflowId: number | null;
  /** Session time on the worker, 429 attempts included (ms). */
  busyMs: number;
  /** From the task being ready (created or run_after) to the handler starting. */
  pickupMs: number;
  provider: string;
}

// ---------------------------------------------------------------------------------------------------------------------
// The run

export interface SwarmResult {
  report: string;
  makespanMs: number;
  lowerBoundMs: number;
  ratio: number;
  /** The same sessions scheduled with no orchestration cost. */
  idealMs: number;
  storiesCompleted: number;
}

const QUEUE: QueueSettings = {
  leaseMs: 30_000,
  heartbeatMs: 5_000,
  maxAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};

const ROLE_OF = new Map<string, Role>(ROLES.flatMap((role) => TASK_TYPES_BY_ROLE[role].map((t) => [t, role])));

async function openEngine(config: SwarmConfig): Promise<{ handle: DatabaseHandle; release(): Promise<void> }> {
  if (config.engine === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-swarm-'));
    const handle = await openDatabase({ sqlitePath: path.join(dir, 'autodev.db') });
    return {
      handle,
      release: async () => {
        await handle.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const scratch = await scratchPostgres();
  if (!scratch)
    throw new Error('--engine postgres: PostgreSQL is not installed and AUTODEV_BENCH_DATABASE_URL not set');
  const handle = await openDatabase({ databaseUrl: scratch.url });
  return {
    handle,
    release: async () => {
      await handle.close();
      await scratch.release();
    },
  };
}

/** Runs the simulation and returns its report (also printed by the command). */
export async function runSwarmSimulation(config: SwarmConfig = readSwarmConfig()): Promise<SwarmResult> {
  const { handle, release } = await openEngine(config);
  const random = seededRandom(config.seed);
  const windowMs = 20 * config.minuteMs;
  const totalWorkers = Object.values(config.workers).reduce((a, b) => a + b, 0);
  // Per 20-minute window the primary starts about half the sessions a busy swarm asks for (a worker asks ~4), the
  // slower fallback (15%) as many again: 429s and fallbacks are common, both limited at once is rare.
  const unlimited = config.rateLimits === false ? Number.MAX_SAFE_INTEGER : 1;
  const primary = new RateWindow('primary', totalWorkers * 2 * unlimited, windowMs, 1);
  const fallback = new RateWindow('fallback', totalWorkers * 3, windowMs, 1.15);
  const sessions: SessionRecord[] = [];
  const completedAt: number[] = [];
  let releases = 0;
  const queue = new TaskQueue(handle, QUEUE);
  const merge: MergeExecutor = () => Promise.resolve({ type: 'merged', sha: 'f00dfeed' });
  const deps: WorkflowDeps = { queue, maxFixRounds: 2, merge };

  const handler: TaskHandler = async (task) => {
    const started = preciseNow();
    const role = ROLE_OF.get(task.type)!;
    const shape = SESSION_MINUTES[task.type];
    const result = RESULTS[task.type];
    if (!shape || !result) throw new Error(`the simulation has no session for ${task.type}`);
    const minutes = logNormal(random, shape.median, shape.sigma);
    let provider = primary;
    const first = primary.take(Date.now());
    if (!first.ok) {
      // The 429 comes back after a short request; then the fallback, or the task waits for the first reset.
      await sleep(config.minuteMs * 0.05);
      const second = fallback.take(Date.now());
      if (!second.ok) {
        releases++;
        throw new ReleaseTask('every provider is rate-limited', Math.min(first.resetAt, second.resetAt));
      }
      provider = fallback;
    }
    await sleep(minutes * config.minuteMs * provider.slowdown);
    sessions.push({
      taskId: task.id,
      type: task.type,
      role,
      workflowId: task.workflowId,
      busyMs: preciseNow() - started,
      pickupMs: Math.max(0, started - Math.max(task.createdAt, task.runAfter)),
      provider: provider.name,
    });
    const value = result(task.id);
    return {
      result: value,
      onComplete: async (tx, claimed) => {
        await onWorkflowTaskCompleted(tx, deps, claimed, value, `bench:${role}`);
        // The human approves at once (spec, merge), in the same transaction.
        const approvals = await tx
          .selectFrom('approvals')
          .select('id')
          .where('status', '=', 'pending')
          .where('workflow_id', '=', claimed.workflowId)
          .execute();
        for (const { id } of approvals)
          await decideApproval(tx, deps, { id, decision: 'approved', actor: 'bench:human' });
      },
    };
  };

  const stop = new AbortController();
  setMaxListeners(Object.values(config.workers).reduce((a, b) => a + b, 0) * 4, stop.signal);
  const errors: unknown[] = [];
  const loops: Promise<void>[] = [];
  try {
    await migrateToLatest(handle);
    for (const role of ROLES) {
      for (let n = 0; n < config.workers[role]; n++) {
        loops.push(
          runWorker({
            queue,
            workerId: `${role}-${n}`,
            types: TASK_TYPES_BY_ROLE[role],
            handler,
            signal: stop.signal,
            onError: (error) => errors.push(error),
            onTaskEnd: (_task, outcome) => {
              if (outcome === 'completed') completedAt.push(preciseNow());
            },
          }),
        );
      }
    }
    progress(
      `${config.stories} stories, ${totalWorkers} workers, ${config.engine}, 1 simulated minute = ${config.minuteMs} ms`,
    );
    const start = preciseNow();
    await handle.db.transaction().execute(async (tx) => {
      for (let i = 0; i < config.stories; i++) {
        await startStoryWorkflow(tx, deps, { title: `Story ${i}`, body: 'B', repoId: null, createdBy: 'bench' });
      }
    });
    // Wait for every story to end (the check only notices the end; the makespan is the last completion's time).
    for (;;) {
      const open = await handle.db
        .selectFrom('workflows')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'in', ['running', 'waiting_for_human'])
        .executeTakeFirstOrThrow();
      if (Number(open.n) === 0) break;
      if (errors.length > 0) throw new Error(`a worker failed: ${String(errors[0])}`);
      await sleep(50);
    }
    const makespanMs = Math.max(...completedAt) - start;
    const finished = await handle.db.selectFrom('workflows').select(['status']).execute();
    const storiesCompleted = finished.filter((w) => w.status === 'completed').length;
    if (storiesCompleted !== config.stories) {
      throw new Error(`${config.stories - storiesCompleted} stories did not complete: ${JSON.stringify(finished)}`);
    }
    return swarmReport(config, sessions, makespanMs, storiesCompleted, { primary, fallback, releases });
  } finally {
    stop.abort();
    await Promise.allSettled(loops);
    await queue.close();
    await release();
  }
}

/** The lower bound from the sessions' real durations: the longest critical path, or the busiest role's work. */
export function lowerBound(
  sessions: readonly SessionRecord[],
  workers: Record<Role, number>,
): { criticalPathMs: number; capacityMs: number; busiestRole: string; stageMs: number; stageRole: string } {
  const byStory = new Map<number, Map<string, number>>();
  for (const s of sessions) {
    if (s.workflowId === null) continue;
    const story = byStory.get(s.workflowId) ?? new Map<string, number>();
    story.set(s.type, (story.get(s.type) ?? 0) + s.busyMs);
    byStory.set(s.workflowId, story);
  }
  let criticalPathMs = 0;
  for (const story of byStory.values()) {
    const t = (type: string) => story.get(type) ?? 0;
    const path =
      t('create_user_story') +
      t('write_spec') +
      t('implement_feature') +
      Math.max(t('review_mr'), t('run_tests'), t('security_scan')) +
      t('deploy');
    criticalPathMs = Math.max(criticalPathMs, path);
  }
  let capacityMs = 0;
  let busiestRole = '-';
  for (const role of ROLES) {
    const work = sessions.filter((s) => s.role === role).reduce((sum, s) => sum + s.busyMs, 0);
    const perWorker = work / Math.max(1, workers[role]);
    if (perWorker > capacityMs) {
      capacityMs = perWorker;
      busiestRole = role;
    }
  }
  // The flow-shop bound: a role cannot start before the shortest path to it is done, needs its work over its
  // workers, and after its last task the shortest rest of a story still runs. Still a lower bound, and a tighter one.
  let stageMs = 0;
  let stageRole = '-';
  const stories = [...byStory.values()];
  STAGES.forEach((stage, index) => {
    const stageTime = (story: Map<string, number>, k: number) => Math.max(...STAGES[k]!.map((t) => story.get(t) ?? 0));
    const before = Math.min(
      ...stories.map((story) => STAGES.slice(0, index).reduce((sum, _, k) => sum + stageTime(story, k), 0)),
    );
    const after = Math.min(
      ...stories.map((story) =>
        STAGES.slice(index + 1).reduce((sum, _, k) => sum + stageTime(story, index + 1 + k), 0),
      ),
    );
    for (const type of stage) {
      const role = ROLE_OF.get(type)!;
      const work = sessions.filter((s) => s.type === type).reduce((sum, s) => sum + s.busyMs, 0);
      const bound = before + work / Math.max(1, workers[role]) + after;
      if (bound > stageMs) {
        stageMs = bound;
        stageRole = type;
      }
    }
  });
  return { criticalPathMs, capacityMs, busiestRole, stageMs, stageRole };
}

/**
 * The same sessions (each story's real durations) replayed with no orchestration cost at all: an event-driven
 * schedule, per role FIFO by ready time, a free worker starting a ready task at once, the next stage ready the moment
 * its last predecessor ends. What the real run takes beyond this is the orchestration's cost (claims, wake-ups,
 * transactions, rate-limit waits); what this takes beyond the lower bounds is the pipeline's own shape.
 */
export function idealSchedule(sessions: readonly SessionRecord[], workers: Record<Role, number>): number {
  const byStory = new Map<number, Map<string, number>>();
  for (const s of sessions) {
    if (s.workflowId === null) continue;
    const story = byStory.get(s.workflowId) ?? new Map<string, number>();
    story.set(s.type, (story.get(s.type) ?? 0) + s.busyMs);
    byStory.set(s.workflowId, story);
  }
  interface Job {
    story: number;
    stage: number;
    type: string;
    readyAt: number;
  }
  const free = new Map<Role, number[]>(ROLES.map((role) => [role, Array<number>(workers[role]).fill(0)]));
  const pendingChecks = new Map<number, { left: number; endAt: number }>();
  let ready: Job[] = [...byStory.keys()].map((story) => ({ story, stage: 0, type: STAGES[0]![0]!, readyAt: 0 }));
  let makespan = 0;
  while (ready.length > 0) {
    // The job that can start first (its worker free and it ready), FIFO by ready time among equals.
    let best: { job: Job; start: number; slot: number } | undefined;
    for (const job of ready) {
      const slots = free.get(ROLE_OF.get(job.type)!)!;
      const slot = slots.indexOf(Math.min(...slots));
      const start = Math.max(job.readyAt, slots[slot]!);
      if (!best || start < best.start || (start === best.start && job.readyAt < best.job.readyAt))
        best = { job, start, slot };
    }
    const { job, start, slot } = best!;
    ready = ready.filter((j) => j !== job);
    const end = start + (byStory.get(job.story)!.get(job.type) ?? 0);
    free.get(ROLE_OF.get(job.type)!)![slot] = end;
    makespan = Math.max(makespan, end);
    const next = STAGES[job.stage + 1];
    if (!next) continue;
    if (STAGES[job.stage]!.length > 1) {
      const checks = pendingChecks.get(job.story) ?? { left: STAGES[job.stage]!.length, endAt: 0 };
      checks.left--;
      checks.endAt = Math.max(checks.endAt, end);
      pendingChecks.set(job.story, checks);
      if (checks.left > 0) continue;
      ready.push({ story: job.story, stage: job.stage + 1, type: next[0]!, readyAt: checks.endAt });
      continue;
    }
    for (const type of next) ready.push({ story: job.story, stage: job.stage + 1, type, readyAt: end });
  }
  return makespan;
}

/** A story's stages in order; the checks of one stage run side by side. */
const STAGES: readonly (readonly string[])[] = [
  ['create_user_story'],
  ['write_spec'],
  ['implement_feature'],
  ['review_mr', 'run_tests', 'security_scan'],
  ['deploy'],
];

function swarmReport(
  config: SwarmConfig,
  sessions: readonly SessionRecord[],
  makespanMs: number,
  storiesCompleted: number,
  providers: { primary: RateWindow; fallback: RateWindow; releases: number },
): SwarmResult {
  const { criticalPathMs, capacityMs, busiestRole, stageMs, stageRole } = lowerBound(sessions, config.workers);
  // Each is a lower bound of any schedule of these sessions, so the largest is too: the target is measured on it.
  const lowerBoundMs = Math.max(criticalPathMs, capacityMs, stageMs);
  const ratio = makespanMs / lowerBoundMs;
  const idealMs = idealSchedule(sessions, config.workers);
  const ms = (v: number): Cell => v.toFixed(0);
  const roleRows = ROLES.filter((role) => sessions.some((s) => s.role === role)).map((role): Cell[] => {
    const mine = sessions.filter((s) => s.role === role);
    const work = mine.reduce((sum, s) => sum + s.busyMs, 0);
    return [
      role,
      config.workers[role],
      mine.length,
      ms(
        percentile(
          mine.map((s) => s.busyMs),
          50,
        ),
      ),
      ms(work),
      `${((work / config.workers[role] / makespanMs) * 100).toFixed(0)}%`,
      ms(
        percentile(
          mine.map((s) => s.pickupMs),
          50,
        ),
      ),
      ms(
        percentile(
          mine.map((s) => s.pickupMs),
          99,
        ),
      ),
    ];
  });
  const summary = formatTable(
    ['figure', 'ms'],
    [
      ['makespan (first story started to last task completed)', ms(makespanMs)],
      ['critical path (longest story: user story, spec, build, slowest check, deploy)', ms(criticalPathMs)],
      [`work / workers (busiest role: ${busiestRole})`, ms(capacityMs)],
      [`flow-shop bound (shortest way to ${stageRole}, its work / workers, shortest rest)`, ms(stageMs)],
      ['lower bound (the largest of the three)', ms(lowerBoundMs)],
      ['ratio makespan / lower bound', ratio.toFixed(3)],
      ['the same sessions scheduled with zero orchestration cost (FIFO per role)', ms(idealMs)],
      ["ratio makespan / zero-cost schedule (the orchestration's own cost)", (makespanMs / idealMs).toFixed(3)],
    ],
  );
  const onFallback = sessions.filter((s) => s.provider === 'fallback').length;
  const report = [
    `Swarm simulation: ${storiesCompleted}/${config.stories} stories through the real queue and story workflow on ` +
      `${config.engine}; simulated sessions (log-normal per task type, 1 simulated minute = ${config.minuteMs} ms), ` +
      `stand-in human approving at once and stand-in merge. ${os.cpus().length} CPUs, load average ` +
      `${os.loadavg()[0]!.toFixed(1)}.`,
    `Providers${config.rateLimits === false ? ' (rate limits off)' : ''}: primary 429s ${providers.primary.limited}, sessions on the fallback ${onFallback} of ${sessions.length}, ` +
      `tasks given back with every provider limited ${providers.releases}.`,
    '',
    summary,
    '',
    formatTable(
      ['role', 'workers', 'sessions', 'session p50 ms', 'work ms', 'busy share', 'pickup p50 ms', 'pickup p99 ms'],
      roleRows,
    ),
    '',
    `Target: makespan within 1.1x of the lower bound: ${ratio <= 1.1 ? 'met' : 'MISSED'} (${ratio.toFixed(3)}x).`,
  ].join('\n');
  return { report, makespanMs, lowerBoundMs, ratio, idealMs, storiesCompleted };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSwarmSimulation().then(
    ({ report }) => {
      process.stdout.write(`${report}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench:swarm failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
