/**
 * @module `autodev demo` end to end: start (or resume) the demo story on the sample repository, start the stand-in
 * model playing the recorded sessions (demo-model.ts), run the real agent supervisor in this process with every
 * session on the REAL Claude Code CLI pointed at it (sandboxed, `autodev mcp`, the agent committing in its own clone:
 * the path of a real session), follow the story through the change log, printing a line per stage and per finished
 * task, approve both human gates itself (printing the command a human would type), and stop when the story is done,
 * waits for a human, or the user presses Ctrl-C (the supervisor releases running tasks; the next run resumes). No
 * second runtime: agents, workflow, gates, forge and merge are the ones `autodev up` runs.
 */
import path from 'node:path';
import os from 'node:os';
import type { Kysely } from 'kysely';
import { startAgents } from '../agents/start-agents.js';
import type { Settings } from '../config/settings-schema.js';
import type { Logger } from '../log.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { eventLogNow, readEvents, type EventCursor } from '../events/read-events.js';
import type { DatabaseHandle } from '../store/open-database.js';
import type { Database, EventRow } from '../store/schema.js';
import { assertSandboxAvailable, defaultHiddenPaths } from '../workspace/sandbox.js';
import type { WorkflowDeps } from '../workflow/advance-workflow.js';
import { decideApproval } from '../workflow/approvals.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import type { StoryState } from '../workflow/workflow-steps.js';
import { demoEnvironment, demoSettings, startDemoModel } from './demo-model.js';
import { gatesLine, stageLine, taskLine } from './demo-progress.js';
import { DEMO_ACTOR, startOrResumeDemo, type DemoStart } from './demo-setup.js';
import { formatSummary, readDemoSummary, testDefaultBranch, type DemoSummary } from './demo-summary.js';
import { DEMO_ROLES, recordingsDir } from './recordings.js';
import { SAMPLE_INITIAL_TESTS } from './sample-repo.js';
import { sleepUnlessAborted } from '../sleep.js';

export interface RunDemoOptions {
  queue: TaskQueue;
  settings: Settings;
  dataDir: string;
  configDir?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** Prints one line. */
  line: (text: string) => void;
  /** What is happening now (a spinner on a terminal), or undefined when nothing is. */
  status: (text: string | undefined) => void;
  /** Aborts on Ctrl-C. */
  signal: AbortSignal;
  /** Pause before each of the stand-in model's answers. */
  delayMs: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** The command a human would type to approve approval `id`. */
  approveCommand: (id: number) => string;
}

export type DemoOutcome =
  | { kind: 'done'; start: DemoStart; summary: DemoSummary; testsPassed: boolean }
  | { kind: 'stopped'; start: DemoStart }
  | { kind: 'failed'; start: DemoStart; reason: string };

const POLL_MS = 100;

export async function runDemo(options: RunDemoOptions): Promise<DemoOutcome> {
  const { queue, line } = options;
  const db = queue.handle.db;
  const startedAt = Date.now();
  // Sessions and the test gate run in the sandbox: say so now, before the story starts, if it cannot.
  await assertSandboxAvailable(options.settings.sandbox.mode);
  const deps = workflowDeps(queue, options.settings.workflow.max_fix_rounds);
  // Only what happens from now on is narrated; an earlier run's steps are summarized once.
  const firstEvent = await eventLogNow(queue.handle);
  const start = await startOrResumeDemo(db, deps, { dataDir: options.dataDir, now: queue.clock() });
  describeStart(start, options);

  const model = await startDemoModel({ recordingsDir: recordingsDir(), delayMs: options.delayMs });
  const settings = demoSettings(options.settings, model);
  const env = demoEnvironment(options.env, path.join(options.dataDir, 'demo', 'no-claude-login'));
  const follower = new StoryFollower(queue.handle, deps, start.workflow.id, firstEvent, options);
  let ended: { kind: 'done' } | { kind: 'stopped' } | { kind: 'failed'; reason: string };
  try {
    const supervisor = await startAgents({
      queue,
      settings,
      dataDir: options.dataDir,
      ...(options.configDir ? { configDir: options.configDir } : {}),
      logger: options.logger,
      env,
      roles: DEMO_ROLES,
      forceProvider: 'claude',
      workers: { workersPerRole: 1, idleWaitMs: 250 },
    });
    try {
      await follower.catchUp(start.kind === 'resumed');
      ended = await follow(follower, options, startedAt);
    } finally {
      // Running tasks go back to the queue (not counted as attempts): the next run resumes them.
      options.status(options.signal.aborted ? 'stopping the agents...' : undefined);
      await supervisor.stop();
      options.status(undefined);
    }
  } finally {
    await model.close();
  }
  if (ended.kind === 'stopped') return { kind: 'stopped', start };
  if (ended.kind === 'failed') {
    // What the stand-in saw go differently from the recordings is usually why.
    for (const m of model.mismatches()) {
      line(
        `  ! stand-in model, step ${m.step + 1} of a recorded session: ${m.message.replace(/\s+/g, ' ').slice(0, 300)}`,
      );
    }
    return { kind: 'failed', start, reason: ended.reason };
  }

  const summary = await readDemoSummary(db, start.workflow.id, start.repo);
  options.status(`running \`${start.repo.test_command ?? 'node --test'}\` on ${start.repo.default_branch}...`);
  const tests = await testDefaultBranch(start.repo, {
    mode: settings.sandbox.mode,
    env,
    hiddenPaths: defaultHiddenPaths({
      home: options.env.HOME ?? os.homedir(),
      dataDir: options.dataDir,
      env: options.env,
    }),
  });
  options.status(undefined);
  line('');
  for (const text of formatSummary(summary, {
    wallMs: Date.now() - startedAt,
    repo: start.repo,
    tests,
    testsBefore: SAMPLE_INITIAL_TESTS,
    mismatches: model.mismatches(),
  })) {
    line(text);
  }
  return { kind: 'done', start, summary, testsPassed: tests.passed };
}

function describeStart(start: DemoStart, options: RunDemoOptions) {
  const { line } = options;
  if (start.kind === 'resumed') {
    line(
      `start:    resuming the unfinished demo story #${start.workflow.id} "${start.workflow.title}" at stage ` +
        `${start.workflow.stage} (repository "${start.repo.name}" at ${start.repo.location})`,
    );
    line('');
    return;
  }
  const why = start.previous
    ? `the earlier demo story #${start.previous.id} is ${start.previous.status.replaceAll('_', ' ')}, so this run starts clean`
    : 'no earlier demo story in this data dir';
  line(`mode:     ${why}`);
  line(
    `start:    clean: a new sample repository "${start.repo.name}" at ${start.repo.location} ` +
      `(main ${start.initialCommit?.slice(0, 7) ?? '?'}, test command \`${start.repo.test_command ?? '-'}\`)`,
  );
  line(`story:    #${start.workflow.id} "${start.workflow.title}" created on ${start.repo.name}`);
  line('');
  line(stageLine('story', 0));
}

async function follow(
  follower: StoryFollower,
  options: RunDemoOptions,
  startedAt: number,
): Promise<{ kind: 'done' } | { kind: 'stopped' } | { kind: 'failed'; reason: string }> {
  for (;;) {
    if (options.signal.aborted) return { kind: 'stopped' };
    const state = await follower.tick();
    if (state) return state;
    if (Date.now() - startedAt > options.timeoutMs) {
      return { kind: 'failed', reason: `the story did not finish within ${Math.round(options.timeoutMs / 1000)} s` };
    }
    await sleepUnlessAborted(POLL_MS, options.signal);
  }
}

/** Follows one story through the change log: prints what happened, approves the gates, says when it ended. */
class StoryFollower {
  private readonly db: Kysely<Database>;
  private cursor: EventCursor;
  private readonly approved = new Set<number>();
  /** Tasks of the story being worked on now (for the spinner). */
  private readonly running = new Map<number, string>();
  /** The last stage printed: the story ends for the demo once the log has shown it reach `done`. */
  private shownStage: string | undefined;

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly deps: WorkflowDeps,
    private readonly workflowId: number,
    firstEvent: EventCursor,
    private readonly options: RunDemoOptions,
  ) {
    this.db = handle.db;
    this.cursor = firstEvent;
  }

  /** A resumed story: say what an earlier run finished, and decide approvals it left pending. */
  async catchUp(resumed: boolean): Promise<void> {
    if (!resumed) return;
    const tasks = await this.tasks();
    const done = tasks.filter((t) => t.status === 'completed');
    this.options.line(
      `  (earlier run) ${done.length} task(s) completed already: ${done.map((t) => `#${t.id} ${t.type}`).join(', ') || 'none'}`,
    );
    const workflow = await this.workflow();
    const state = JSON.parse(workflow.state) as StoryState;
    this.options.line(stageLine(workflow.stage, state.round));
    this.shownStage = workflow.stage;
    const pending = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('workflow_id', '=', this.workflowId)
      .where('status', '=', 'pending')
      .orderBy('id')
      .execute();
    for (const approval of pending) await this.approve(approval.id, approval.kind);
  }

  /** Handles the new events; returns how the story ended, or undefined while it runs. */
  async tick(): Promise<{ kind: 'done' } | { kind: 'failed'; reason: string } | undefined> {
    const { rows: events, cursor } = await readEvents(this.handle, this.cursor, 500);
    this.cursor = cursor;
    if (events.length > 0) {
      const taskIds = new Set((await this.tasks()).map((t) => String(t.id)));
      for (const event of events) {
        const data = JSON.parse(event.data) as Record<string, unknown>;
        if (event.subject_type === 'task' && taskIds.has(event.subject_id)) {
          const failure = await this.onTaskEvent(event, data);
          if (failure) return failure;
        } else if (event.subject_type === 'workflow' && event.subject_id === String(this.workflowId)) {
          await this.onWorkflowEvent(event, data);
        } else if (event.kind === 'approval.created' && data.workflow_id === this.workflowId) {
          await this.approve(Number(event.subject_id), String(data.kind));
        }
      }
    }
    const workflow = await this.workflow();
    // The row can be read before the change log shows its last events (the log is read below a commit-safe horizon,
    // which an open transaction anywhere on a PostgreSQL cluster holds back): done once the log has shown `done` too.
    if (workflow.status === 'completed' && this.shownStage === 'done') return { kind: 'done' };
    if (workflow.status === 'waiting_for_human') {
      const state = JSON.parse(workflow.state) as StoryState;
      return { kind: 'failed', reason: `the story waits for a human: ${state.humanSummary ?? 'no summary'}` };
    }
    return undefined;
  }

  private async onTaskEvent(event: EventRow, data: Record<string, unknown>) {
    const id = Number(event.subject_id);
    switch (event.kind) {
      case 'task.claimed': {
        const task = await this.task(id);
        this.running.set(id, `${task.type} #${id}`);
        this.showRunning();
        return undefined;
      }
      case 'task.released':
        this.running.delete(id);
        this.showRunning();
        return undefined;
      case 'task.completed': {
        this.running.delete(id);
        this.showRunning();
        const task = await this.task(id);
        const result = task.result ? (JSON.parse(task.result) as Record<string, unknown>) : {};
        this.options.line(taskLine({ id, type: task.type }, result, await this.tokensOf(id)));
        return undefined;
      }
      case 'task.retry_scheduled':
      case 'task.failed': {
        this.running.delete(id);
        this.showRunning();
        const task = await this.task(id);
        const error = String(data.error ?? task.error ?? 'no error recorded');
        this.options.line(`  ✗ ${task.type} task #${id} attempt failed: ${error}`);
        if (event.kind === 'task.failed') return { kind: 'failed' as const, reason: `task #${id} failed: ${error}` };
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private async onWorkflowEvent(event: EventRow, data: Record<string, unknown>) {
    if (event.kind !== 'workflow.advanced') return;
    const from = String(data.from);
    const to = String(data.to);
    if (from === to) return;
    const workflow = await this.workflow();
    const state = JSON.parse(workflow.state) as StoryState;
    const gates = gatesLine(from, to, state);
    if (gates) this.options.line(gates);
    if (from === 'merge' && to === 'deploy') {
      const mr = await this.db
        .selectFrom('merge_requests')
        .select(['id', 'merge_sha', 'target_branch'])
        .where('workflow_id', '=', this.workflowId)
        .where('status', '=', 'merged')
        .orderBy('id', 'desc')
        .executeTakeFirst();
      this.options.line(
        `  = merged merge request #${mr?.id ?? '?'}: merge commit ${mr?.merge_sha?.slice(0, 7) ?? '?'} on ${mr?.target_branch ?? '?'}`,
      );
    }
    this.options.line(stageLine(to, typeof data.round === 'number' ? data.round : state.round));
    this.shownStage = to;
  }

  private showRunning() {
    const names = [...this.running.values()];
    this.options.status(
      names.length > 0 ? `Claude Code playing recorded sessions (stand-in model): ${names.join(', ')}` : undefined,
    );
  }

  private async approve(id: number, kind: string) {
    if (this.approved.has(id)) return;
    this.approved.add(id);
    this.options.line(
      `  ? ${kind} approval #${id} waits for a human, who would type: ${this.options.approveCommand(id)}`,
    );
    try {
      await decideApproval(this.db, this.deps, {
        id,
        decision: 'approved',
        reason: 'approved by "autodev demo" on behalf of a human (only the demo approves by itself)',
        actor: DEMO_ACTOR,
      });
      this.options.line(`  ✓ the demo approved #${id} itself, as that human`);
    } catch (error) {
      this.options.line(`  ! approval #${id} was not approved by the demo: ${(error as Error).message}`);
    }
  }

  private tasks() {
    return this.db
      .selectFrom('tasks')
      .select(['id', 'type', 'status'])
      .where('workflow_id', '=', this.workflowId)
      .orderBy('id')
      .execute();
  }

  private task(id: number) {
    return this.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  private workflow() {
    return this.db.selectFrom('workflows').selectAll().where('id', '=', this.workflowId).executeTakeFirstOrThrow();
  }

  private async tokensOf(taskId: number): Promise<number> {
    const rows = await this.db
      .selectFrom('sessions')
      .select(['tokens_in', 'tokens_out'])
      .where('task_id', '=', taskId)
      .execute();
    return rows.reduce((sum, r) => sum + r.tokens_in + r.tokens_out, 0);
  }
}
