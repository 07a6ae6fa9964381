/**
 * @module The agent runtime end to end: the real worker loop (or the supervisor) runs agent tasks as sessions of the
 * fake Claude Code / Codex CLIs replaying recorded output through the real SDKs, sandboxed in bubblewrap, talking to
 * the real `autodev mcp` server. Each test ends in the documented task, session and provider state. The cases whose
 * SQL is the completion's, the outbox's, the instructions' and the supervisor's rows run on both engines; the cases
 * about a CLI's behaviour (limits, crashes, hangs, bad results) run once each, spread over the engines (`itOnSpread`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { scaleRole, requestRestart } from '../../src/agents/agent-controls.js';
import { AgentSupervisor } from '../../src/agents/agent-supervisor.js';
import { addInstruction } from '../../src/agents/instructions.js';
import { settingsProviderFactory } from '../../src/agents/provider-factory.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import type { Settings } from '../../src/config/settings-schema.js';
import { TASK_TYPES_BY_ROLE, type Role } from '../../src/domain/roles.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import {
  agentSettings,
  autodevCliEntry,
  gitIn,
  makeGitRepo,
  processesMentioning,
  registerRepo,
  settleEvents,
  waitFor,
  type AgentSettingsOptions,
} from '../support/agent-fixtures.js';
import { DIALECTS, itOnSpread, useTestDatabase, type TestDatabase } from '../support/dialects.js';

// Sessions start real processes (bubblewrap, node, the MCP server): generous on a loaded machine.
vi.setConfig({ testTimeout: 90_000 });

const TOOL_SUCCESS = 'stream-json-tool-success.jsonl';
const CODEX_SUCCESS = 'exec-json-command.jsonl';
/** `resetsAt` of the rate_limit_event in stream-json-subscription-limit.jsonl (2026-11-24T01:39:53Z). */
const SUBSCRIPTION_RESET_MS = 1_795_484_393_000;

const STORY_RESULT = {
  status: 'done',
  summary: 'Wrote one story for task {{task_id}}.',
  stories: [
    {
      title: 'Export orders as CSV',
      body: 'As a shop owner, I want to export orders as CSV, so that I can do my accounts.',
      acceptance_criteria: ['The orders page has a "Download CSV" button'],
    },
  ],
};

const FEATURE_RESULT = {
  status: 'done',
  summary: 'Added the CSV export.',
  branch: '{{branch}}',
  commits: [{ sha: '0000000', message: 'Add CSV export' }],
  files_changed: ['src/export.txt'],
};

let cliEntry: string;
beforeAll(() => {
  cliEntry = autodevCliEntry();
});

interface Harness {
  queue: TaskQueue;
  deps: AgentRuntimeDeps;
  settings: Settings;
  dataDir: string;
  logs: Record<string, unknown>[];
  /** Moves the queue's clock (ms); the runtime reads all its times from it. */
  clock: { offset: number };
}

const roots: string[] = [];
const queues: TaskQueue[] = [];

afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-agent-'));
  roots.push(root);
  return root;
}

function makeHarness(
  t: TestDatabase,
  options: AgentSettingsOptions & { env?: Record<string, string>; clock?: { offset: number }; root?: string } = {},
): Harness {
  const root = options.root ?? tempRoot();
  const dataDir = path.join(root, 'data');
  const home = path.join(root, 'home');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const settings = agentSettings(options);
  const clock = options.clock ?? { offset: 0 };
  const queue = new TaskQueue(t.handle, queueSettingsFrom(settings), () => Date.now() + clock.offset);
  queues.push(queue);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const deps: AgentRuntimeDeps = {
    queue,
    settings,
    dataDir,
    logger,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...options.env },
    createProvider: settingsProviderFactory({ settings }),
    cliEntry,
  };
  return { queue, deps, settings, dataDir, logs, clock };
}

/** Runs the real worker loop for `role` until the task has settled `attempts` times, then stops it. */
async function runAttempts(h: Harness, role: Role, taskId: number, attempts = 1, timeoutMs = 30_000) {
  const stop = new AbortController();
  const errors: unknown[] = [];
  const loop = runWorker({
    queue: h.queue,
    workerId: `${role}-test-worker`,
    types: TASK_TYPES_BY_ROLE[role],
    handler: createAgentTaskHandler(h.deps, role),
    signal: stop.signal,
    idleWaitMs: 100,
    onError: (error) => errors.push(error),
  });
  try {
    await waitFor(
      `task ${taskId} to settle ${attempts} time(s)`,
      async () => (await settleEvents(h.queue.handle.db, taskId)).length >= attempts,
      timeoutMs,
    );
  } finally {
    stop.abort();
    await loop;
  }
  expect(errors).toEqual([]);
  return h.queue.get(taskId);
}

async function sessionsOf(t: TestDatabase, taskId: number) {
  return t.handle.db.selectFrom('sessions').selectAll().where('task_id', '=', taskId).orderBy('id').execute();
}

async function providerLimit(t: TestDatabase, provider: string) {
  return t.handle.db.selectFrom('provider_limits').selectAll().where('provider', '=', provider).executeTakeFirst();
}

async function storyTask(h: Harness) {
  return h.queue.enqueue({ type: 'create_user_story', payload: { idea: 'CSV export of orders' }, createdBy: 'test' });
}

describe.each(DIALECTS)('%s: agent runtime', (dialect) => {
  /** A case about the CLI's behaviour, not the SQL (which the modules' own tests run on both): on one engine. */
  let spread = 0;
  const itSpread = () => itOnSpread(dialect, spread++);
  const t = useTestDatabase(dialect);

  it('fake claude CLI replaying recorded output with tool calls, sandboxed: the task completes with the validated result, session, transcript and outbox', async () => {
    const h = makeHarness(t, {
      claude: {
        recording: TOOL_SUCCESS,
        submit: STORY_RESULT,
        outbox: [
          {
            tool: 'create_task',
            arguments: { type: 'analyze_repo', payload: { focus: 'billing' }, reason: 'Billing needs a look.' },
          },
          { tool: 'create_task', arguments: { type: 'deploy', payload: { env: 'prod' }, reason: 'Ship it.' } },
          { tool: 'post_discussion', arguments: { topic: 'csv export', body: 'CSV export is coming.' } },
        ],
      },
    });
    expect(h.settings.sandbox.mode).toBe('bubblewrap');
    const task = await storyTask(h);
    const done = await runAttempts(h, 'pm', task.id);

    const [session, ...more] = await sessionsOf(t, task.id);
    expect(more).toEqual([]);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
    expect(done.result).toMatchObject({
      ...STORY_RESULT,
      summary: `Wrote one story for task ${task.id}.`,
      session_id: session!.id,
      provider: 'claude',
    });
    expect(session).toMatchObject({
      status: 'succeeded',
      provider: 'claude',
      role: 'pm',
      agent_instance_id: 'pm-test-worker',
      provider_session_id: 'aec8d8ca-1b1a-4055-8b5e-a57fff641429',
      model: 'claude-sonnet-4-5',
      tokens_in: 240,
      tokens_out: 37,
      tokens_cache: 2100,
      cost_usd: 0.00225,
    });
    expect(session!.finished_at).not.toBeNull();
    // The session ran sandboxed: the SDK was given the generated bubblewrap wrapper.
    const wrapper = fs.readFileSync(
      path.join(h.dataDir, 'sessions', String(session!.id), 'claude-sandboxed.sh'),
      'utf8',
    );
    expect(wrapper).toContain('--unshare-all');
    expect(h.logs.map((l) => l.msg)).not.toContainEqual(expect.stringContaining('UNSANDBOXED'));

    // The transcript: every event, numbered in arrival order, the recorded tool call before the MCP calls.
    const transcript = await t.handle.db
      .selectFrom('session_events')
      .select(['seq', 'kind', 'data'])
      .where('session_id', '=', session!.id)
      .orderBy('seq')
      .execute();
    expect(transcript.map((e) => e.seq)).toEqual(transcript.map((_, i) => i));
    expect(transcript[0]?.kind).toBe('session_started');
    expect(transcript.at(-1)?.kind).toBe('result');
    const calls = transcript
      .filter((e) => e.kind === 'tool_call')
      .map((e) => (JSON.parse(e.data) as { name: string }).name);
    expect(calls).toEqual([
      'Bash',
      'mcp__autodev__read_task',
      'mcp__autodev__create_task',
      'mcp__autodev__create_task',
      'mcp__autodev__post_discussion',
      'mcp__autodev__submit_result',
    ]);

    // The outbox, applied with the completion: the allowed child task and the post; the deploy refused.
    const children = await t.handle.db.selectFrom('tasks').selectAll().where('parent_id', '=', task.id).execute();
    expect(children.map((c) => [c.type, c.status, c.created_by])).toEqual([
      ['analyze_repo', 'pending', 'pm-test-worker'],
    ]);
    expect(JSON.parse(children[0]!.payload)).toEqual({ focus: 'billing', requested_because: 'Billing needs a look.' });
    expect(await t.handle.db.selectFrom('tasks').select('id').where('type', '=', 'deploy').execute()).toEqual([]);
    const posts = await t.handle.db.selectFrom('discussions').selectAll().execute();
    expect(posts.map((p) => [p.topic, p.body, p.author])).toEqual([
      ['csv export', 'CSV export is coming.', 'pm-test-worker'],
    ]);
    // What became of each request is in the result, the refusal with its reason (and in the log).
    const refusal = 'agents may not start deploy tasks; the workflow starts them after the human gates';
    const stored = await h.queue.get(task.id);
    expect((stored.result as { outbox: unknown }).outbox).toEqual({
      created_task_ids: [children[0]!.id],
      discussion_ids: [posts[0]!.id],
      proposal_ids: [],
      voted_proposal_ids: [],
      rejected: [{ seq: 2, reason: refusal }],
    });
    expect(JSON.stringify(h.logs.find((l) => l.msg === 'outbox requests refused'))).toContain(refusal);
  });

  itSpread()(
    'a repo task (fake claude CLI replaying recorded output, editing files): worktree on autodev/<id>-<slug>, files committed there, main untouched',
    async () => {
      const root = tempRoot();
      const repo = makeGitRepo(root);
      const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
      const h = makeHarness(t, {
        root,
        claude: {
          recording: TOOL_SUCCESS,
          write: { 'src/export.txt': 'export for task {{task_id}}\n', 'docs/csv.md': '# CSV\n' },
          submit: FEATURE_RESULT,
        },
      });
      const task = await h.queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'Add CSV export' },
        repoId,
        createdBy: 'test',
      });
      const done = await runAttempts(h, 'builder', task.id);

      const branch = `autodev/${task.id}-add-csv-export`;
      expect(done.status).toBe('completed');
      const head = gitIn(repo.path, 'rev-parse', `refs/heads/${branch}`);
      expect(done.result).toMatchObject({
        branch,
        head_commit: head,
        provider: 'claude',
        files_changed: ['src/export.txt'],
      });
      expect(gitIn(repo.path, 'show', `${branch}:src/export.txt`)).toBe(`export for task ${task.id}`);
      expect(gitIn(repo.path, 'show', `${branch}:docs/csv.md`)).toBe('# CSV');
      expect(gitIn(repo.path, 'log', '--format=%an %s', '-1', branch)).toBe(
        `Auto-Dev WIP: implement_feature task ${task.id}: work left uncommitted, saved by Auto-Dev`,
      );
      expect(gitIn(repo.path, 'rev-parse', `${branch}~1`)).toBe(repo.initialCommit);
      // The default branch and the main checkout are as they were.
      expect(gitIn(repo.path, 'rev-parse', 'refs/heads/main')).toBe(repo.initialCommit);
      expect(gitIn(repo.path, 'status', '--porcelain')).toBe('');
      expect(fs.existsSync(path.join(repo.path, 'src'))).toBe(false);
      // The worktree lives in the data dir, one per task.
      expect(gitIn(path.join(h.dataDir, 'worktrees', 'shop', `task-${task.id}`), 'branch', '--show-current')).toBe(
        branch,
      );
    },
  );

  it('the outbox commits with the completion: when applying it fails, none of it stays and the task is not completed', async () => {
    const h = makeHarness(t, {
      claude: {
        recording: TOOL_SUCCESS,
        submit: STORY_RESULT,
        outbox: [
          {
            tool: 'post_discussion',
            arguments: { topic: 'csv export', body: 'Posted first, in the same transaction.' },
          },
          { tool: 'create_task', arguments: { type: 'analyze_repo', payload: {}, reason: 'Needed.' } },
        ],
      },
    });
    // The child task's insert fails inside the completing transaction (after the discussion post was inserted).
    const enqueue = h.queue.enqueue.bind(h.queue);
    h.queue.enqueue = async (input, db) => {
      if (input.type === 'analyze_repo') throw new Error('the database refused the child task');
      return enqueue(input, db);
    };
    const task = await storyTask(h);
    const after = await runAttempts(h, 'pm', task.id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1, error: 'the database refused the child task' });
    expect(await t.handle.db.selectFrom('discussions').selectAll().execute()).toEqual([]);
    expect(await t.handle.db.selectFrom('tasks').select('id').where('parent_id', '=', task.id).execute()).toEqual([]);
    expect(
      await t.handle.db.selectFrom('events').select('kind').where('kind', '=', 'task.completed').execute(),
    ).toEqual([]);
  });

  itSpread()(
    'max turns (fake claude CLI replaying recorded output): a failed attempt, back to pending with backoff, error kept',
    async () => {
      const h = makeHarness(t, { claude: { recording: 'stream-json-error-max-turns.jsonl', submit: STORY_RESULT } });
      const task = await storyTask(h);
      const before = Date.now();
      const after = await runAttempts(h, 'pm', task.id);
      expect(after).toMatchObject({ status: 'pending', attempts: 1 });
      expect(after.error).toBe('claude session failed: Reached maximum number of turns (1)');
      expect(after.runAfter).toBeGreaterThanOrEqual(before + 600_000);
      expect((await sessionsOf(t, task.id)).map((s) => s.status)).toEqual(['failed']);
      expect(await providerLimit(t, 'claude')).toBeUndefined();
      // What the session queued is dropped with it: nothing was created.
      expect(await t.handle.db.selectFrom('tasks').select('id').where('parent_id', '=', task.id).execute()).toEqual([]);
    },
  );

  itSpread()(
    'not logged in (fake claude CLI replaying recorded output): a failed attempt naming the cause; the provider is not marked limited',
    async () => {
      const h = makeHarness(t, { claude: { recording: 'stream-json-not-logged-in.jsonl' } });
      const task = await storyTask(h);
      const after = await runAttempts(h, 'pm', task.id);
      expect(after).toMatchObject({ status: 'pending', attempts: 1 });
      expect(after.error).toBe('claude session failed: Not logged in · Please run /login (authentication_failed)');
      expect(await providerLimit(t, 'claude')).toBeUndefined();
      expect((await sessionsOf(t, task.id)).map((s) => [s.provider, s.status])).toEqual([['claude', 'failed']]);
    },
  );

  itSpread().each(['stream-json-api-429-noretry.jsonl', 'stream-json-api-429-retries.jsonl'])(
    'an API 429 (fake claude CLI replaying %s): claude is limited and the task continues on codex and completes',
    async (recording) => {
      const h = makeHarness(t, {
        claude: { recording },
        codex: { recording: CODEX_SUCCESS, submit: STORY_RESULT },
      });
      const task = await storyTask(h);
      const before = Date.now();
      const done = await runAttempts(h, 'pm', task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { provider: 'codex' } });
      const sessions = await sessionsOf(t, task.id);
      expect(sessions.map((s) => [s.provider, s.status])).toEqual([
        ['claude', 'rate_limited'],
        ['codex', 'succeeded'],
      ]);
      expect((done.result as { session_id: number }).session_id).toBe(sessions[1]!.id);
      // No reset time given: limited for the default cool-down (15 minutes).
      const limit = await providerLimit(t, 'claude');
      expect(limit?.limited_until).toBeGreaterThanOrEqual(before + 15 * 60_000);
      expect(limit?.limited_until).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
      expect(limit?.reason).toContain('429');
      expect(await providerLimit(t, 'codex')).toBeUndefined();
    },
  );

  itSpread()(
    'a subscription limit (fake claude CLI replaying recorded output): claude limited until the parsed reset; the task completes on codex; after the reset claude runs again',
    async () => {
      // The queue clock stands two hours before the recorded reset (2026-11-24T01:39:53Z).
      const clock = { offset: SUBSCRIPTION_RESET_MS - 2 * 3_600_000 - Date.now() };
      const h = makeHarness(t, {
        clock,
        claude: { recording: 'stream-json-subscription-limit.jsonl' },
        codex: { recording: CODEX_SUCCESS, submit: STORY_RESULT },
      });
      const first = await storyTask(h);
      const done = await runAttempts(h, 'pm', first.id);
      expect(done).toMatchObject({ status: 'completed', result: { provider: 'codex' } });
      expect(await providerLimit(t, 'claude')).toMatchObject({ limited_until: SUBSCRIPTION_RESET_MS });
      expect((await providerLimit(t, 'claude'))?.reason).toContain('limit');

      // Still before the reset: the next task goes straight to codex, claude is not tried.
      const second = await storyTask(h);
      await runAttempts(h, 'pm', second.id);
      expect((await sessionsOf(t, second.id)).map((s) => s.provider)).toEqual(['codex']);

      // After the reset, claude (logged in again) is used again.
      clock.offset = SUBSCRIPTION_RESET_MS + 60_000 - Date.now();
      const later = makeHarness(t, { clock, claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT } });
      const third = await storyTask(later);
      const thirdDone = await runAttempts(later, 'pm', third.id);
      expect(thirdDone).toMatchObject({ status: 'completed', result: { provider: 'claude' } });
      expect((await sessionsOf(t, third.id)).map((s) => s.provider)).toEqual(['claude']);
    },
  );

  itSpread()(
    'a limit whose reset time has already passed (real clock, recorded reset in the past) still moves the task to codex',
    async () => {
      const h = makeHarness(t, {
        claude: { recording: 'stream-json-subscription-limit.jsonl' },
        codex: { recording: CODEX_SUCCESS, submit: STORY_RESULT },
      });
      expect(Date.now()).toBeGreaterThan(SUBSCRIPTION_RESET_MS);
      const task = await storyTask(h);
      const done = await runAttempts(h, 'pm', task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { provider: 'codex' } });
      expect((await sessionsOf(t, task.id)).map((s) => [s.provider, s.status])).toEqual([
        ['claude', 'rate_limited'],
        ['codex', 'succeeded'],
      ]);
      // The provider said "rejected": it is limited now, whatever its stale reset time says.
      expect((await providerLimit(t, 'claude'))?.limited_until).toBeGreaterThan(Date.now());
    },
  );

  itSpread().each(['exec-json-usage-limit.jsonl', 'exec-json-429-retry-exhausted.jsonl'])(
    'codex limits (fake codex CLI replaying %s): codex is limited and the task continues on claude',
    async (recording) => {
      const h = makeHarness(t, {
        overrides: { llm: { default_provider: 'codex', fallback_provider: 'claude' } },
        codex: { recording },
        claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT },
      });
      const task = await storyTask(h);
      const done = await runAttempts(h, 'pm', task.id);
      expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { provider: 'claude' } });
      expect((await sessionsOf(t, task.id)).map((s) => [s.provider, s.status])).toEqual([
        ['codex', 'rate_limited'],
        ['claude', 'succeeded'],
      ]);
      expect((await providerLimit(t, 'codex'))?.limited_until).toBeGreaterThan(Date.now());
      expect(await providerLimit(t, 'claude')).toBeUndefined();
    },
  );

  itSpread()(
    'with auto_fallback_on_rate_limit false a limited task is released: pending until the reset, attempt not counted, never failed',
    async () => {
      const clock = { offset: SUBSCRIPTION_RESET_MS - 2 * 3_600_000 - Date.now() };
      const h = makeHarness(t, {
        clock,
        overrides: { llm: { auto_fallback_on_rate_limit: false } },
        claude: { recording: 'stream-json-subscription-limit.jsonl' },
        codex: { recording: CODEX_SUCCESS, submit: STORY_RESULT },
      });
      const task = await storyTask(h);
      const after = await runAttempts(h, 'pm', task.id);
      expect(after).toMatchObject({ status: 'pending', attempts: 0, runAfter: SUBSCRIPTION_RESET_MS, error: null });
      expect((await settleEvents(t.handle.db, task.id)).map((e) => e.kind)).toEqual(['task.released']);
      expect((await sessionsOf(t, task.id)).map((s) => [s.provider, s.status])).toEqual([['claude', 'rate_limited']]);
      expect(await providerLimit(t, 'claude')).toMatchObject({ limited_until: SUBSCRIPTION_RESET_MS });
    },
  );

  itSpread()(
    'crash mid-stream (fake claude CLI dying after 3 recorded lines): a failed attempt with a clear error',
    async () => {
      const h = makeHarness(t, { claude: { scenario: 'crash', recording: TOOL_SUCCESS } });
      const task = await storyTask(h);
      const after = await runAttempts(h, 'pm', task.id);
      expect(after).toMatchObject({ status: 'pending', attempts: 1 });
      expect(after.error).toBe(
        'claude session failed: Claude Code exited before reporting a result: Claude Code process exited with code 1; ' +
          'stderr: fake-claude: simulated crash: the agent process died unexpectedly',
      );
      expect((await sessionsOf(t, task.id)).map((s) => s.status)).toEqual(['failed']);
      expect(await providerLimit(t, 'claude')).toBeUndefined();
    },
  );

  itSpread()(
    'hang (fake claude CLI that never ends): the watcher kills it after watcher.max_session_duration; a failed attempt saying so',
    async () => {
      const h = makeHarness(t, { claude: { scenario: 'hang' }, overrides: { watcher: { max_session_duration: 2 } } });
      const task = await storyTask(h);
      const after = await runAttempts(h, 'pm', task.id);
      expect(after).toMatchObject({ status: 'pending', attempts: 1 });
      expect(after.error).toBe('session time limit: killed after 2 s (watcher.max_session_duration)');
      const [session] = await sessionsOf(t, task.id);
      expect(session).toMatchObject({ status: 'aborted' });
      expect(session!.finished_at! - session!.started_at).toBeGreaterThanOrEqual(2_000);
      // Killed: nothing of the session (sandbox wrapper, CLI) is left running.
      await waitFor('the session processes to be gone', () => processesMentioning(h.dataDir).length === 0, 10_000);
    },
  );

  itSpread()(
    'over budget (fake claude CLI reporting huge usage): stopped past tokens.session_max, a failed attempt, its work committed as WIP',
    async () => {
      const root = tempRoot();
      const repo = makeGitRepo(root);
      const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
      const h = makeHarness(t, {
        root,
        claude: { scenario: 'over-budget', write: { 'src/half-done.txt': 'half of the work\n' } },
        overrides: { tokens: { session_max: 1_000 } },
      });
      const task = await h.queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'Big refactor' },
        repoId,
        createdBy: 'test',
      });
      const after = await runAttempts(h, 'builder', task.id);
      expect(after).toMatchObject({ status: 'pending', attempts: 1 });
      expect(after.error).toBe('token budget: the session passed tokens.session_max (1000 tokens)');
      expect((await sessionsOf(t, task.id)).map((s) => s.status)).toEqual(['aborted']);
      const branch = `autodev/${task.id}-big-refactor`;
      expect(gitIn(repo.path, 'show', `${branch}:src/half-done.txt`)).toBe('half of the work');
      expect(gitIn(repo.path, 'log', '--format=%s', '-1', branch)).toBe(
        `WIP: implement_feature task ${task.id}: work uncommitted when the session was aborted, saved by Auto-Dev`,
      );
      expect(gitIn(repo.path, 'rev-parse', 'refs/heads/main')).toBe(repo.initialCommit);
    },
  );

  itSpread()('a session that ends without calling submit_result is a failed attempt saying so', async () => {
    const h = makeHarness(t, { claude: { recording: TOOL_SUCCESS } });
    const task = await storyTask(h);
    const after = await runAttempts(h, 'pm', task.id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1 });
    expect(after.error).toBe('the session ended without calling submit_result, so there is no verdict');
    // The CLI said it succeeded, but a session that hands in no result is not recorded as succeeded.
    const sessions = await sessionsOf(t, task.id);
    expect(sessions.map((s) => [s.status, s.outcome])).toEqual([
      ['failed', 'the session ended without calling submit_result, so there is no verdict'],
    ]);
  });

  itSpread()('an invalid result written past the tool is re-validated: a failed attempt naming the field', async () => {
    const invalid = { ...STORY_RESULT, stories: [{ title: 'No body', acceptance_criteria: [] }] };
    const h = makeHarness(t, { claude: { recording: TOOL_SUCCESS, submit: invalid, submitDirect: true } });
    const task = await storyTask(h);
    const after = await runAttempts(h, 'pm', task.id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1 });
    expect(after.error).toMatch(/^invalid result: create_user_story result is invalid: stories\[0\]\.body: /);
    expect(after.error).toContain('stories[0].acceptance_criteria');
  });

  itSpread()('an invalid result refused by submit_result: a failed attempt naming the field', async () => {
    const invalid = {
      ...STORY_RESULT,
      stories: [{ title: 'No criteria', body: 'As a user...', acceptance_criteria: [] }],
    };
    const h = makeHarness(t, { claude: { recording: TOOL_SUCCESS, submit: invalid } });
    const task = await storyTask(h);
    const after = await runAttempts(h, 'pm', task.id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1 });
    expect(after.error).toBe(
      'invalid result: submit_result refused it (create_user_story result is invalid: stories[0].acceptance_criteria: ' +
        'Too small: expected array to have >=1 items) and the session ended without a valid one',
    );
  });

  itSpread()('SWARM_LLM_PROVIDER=codex forces codex for every role', async () => {
    const h = makeHarness(t, {
      env: { SWARM_LLM_PROVIDER: 'codex' },
      claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT },
      codex: { recording: CODEX_SUCCESS, submit: STORY_RESULT },
    });
    const task = await storyTask(h);
    const done = await runAttempts(h, 'pm', task.id);
    expect(done).toMatchObject({ status: 'completed', result: { provider: 'codex' } });
    expect((await sessionsOf(t, task.id)).map((s) => s.provider)).toEqual(['codex']);
  });

  itSpread()('agents.<role>.provider overrides the default provider for that role only', async () => {
    const analysis = { status: 'done', summary: 'Looked around.', tools_run: ['eslint .'], issues: [] };
    const h = makeHarness(t, {
      overrides: { agents: { bug_finder: { provider: 'codex' } } },
      claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT },
      codex: { recording: CODEX_SUCCESS, submit: analysis },
    });
    const scan = await h.queue.enqueue({ type: 'static_analysis', payload: {}, createdBy: 'test' });
    const story = await storyTask(h);
    expect(await runAttempts(h, 'bug_finder', scan.id)).toMatchObject({
      status: 'completed',
      result: { provider: 'codex' },
    });
    expect(await runAttempts(h, 'pm', story.id)).toMatchObject({ status: 'completed', result: { provider: 'claude' } });
  });

  it('operator instructions reach the rendered prompt of the next session and are marked delivered with its id', async () => {
    const h = makeHarness(t, { claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT, promptFile: 'prompt.txt' } });
    const message = 'Write every acceptance criterion as Given/When/Then.';
    const id = await addInstruction(t.handle.db, { role: 'pm', message, createdBy: 'operator', now: Date.now() });
    const other = await addInstruction(t.handle.db, {
      role: 'builder',
      message: 'Builders only.',
      createdBy: 'operator',
      now: Date.now(),
    });
    const first = await storyTask(h);
    await runAttempts(h, 'pm', first.id);
    const [session] = await sessionsOf(t, first.id);
    const prompt = fs.readFileSync(path.join(h.dataDir, 'sessions', String(session!.id), 'prompt.txt'), 'utf8');
    expect(prompt).toContain('## Operator instructions');
    expect(prompt).toContain(message);
    expect(prompt).not.toContain('Builders only.');
    const rows = await t.handle.db.selectFrom('instructions').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.delivered_to_session_id])).toEqual([
      [id, session!.id],
      [other, null],
    ]);
    expect(rows[0]!.delivered_at).not.toBeNull();

    // Delivered once: the next session of the role does not get it again.
    const second = await storyTask(h);
    await runAttempts(h, 'pm', second.id);
    const [next] = await sessionsOf(t, second.id);
    const nextPrompt = fs.readFileSync(path.join(h.dataDir, 'sessions', String(next!.id), 'prompt.txt'), 'utf8');
    expect(nextPrompt).not.toContain(message);
  });

  itSpread()('an instruction given to a session that was rate limited reaches the fallback session', async () => {
    const h = makeHarness(t, {
      claude: { recording: 'stream-json-api-429-noretry.jsonl', promptFile: 'prompt.txt' },
      codex: { recording: CODEX_SUCCESS, submit: STORY_RESULT, promptFile: 'prompt.txt' },
    });
    const message = 'Mention accessibility in every story.';
    const id = await addInstruction(t.handle.db, { role: 'pm', message, createdBy: 'operator', now: Date.now() });
    const task = await storyTask(h);
    expect(await runAttempts(h, 'pm', task.id)).toMatchObject({ status: 'completed', result: { provider: 'codex' } });
    const [limited, fallback] = await sessionsOf(t, task.id);
    const prompt = (s: { id: number }) =>
      fs.readFileSync(path.join(h.dataDir, 'sessions', String(s.id), 'prompt.txt'), 'utf8');
    expect(prompt(limited!)).toContain(message);
    expect(prompt(fallback!)).toContain(message);
    const row = await t.handle.db.selectFrom('instructions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.delivered_to_session_id).toBe(fallback!.id);
  });
});

describe.each(DIALECTS)('%s: agent supervisor', (dialect) => {
  /** A case about the CLI's behaviour, not the SQL (which the modules' own tests run on both): on one engine. */
  let spread = 0;
  const itSpread = () => itOnSpread(dialect, spread++);
  const t = useTestDatabase(dialect);
  const supervisors: AgentSupervisor[] = [];
  afterEach(async () => {
    for (const supervisor of supervisors.splice(0)) await supervisor.stop();
  });

  function supervise(h: Harness, roles: Role[], options: { workersPerRole?: number } = {}) {
    const supervisor = new AgentSupervisor(h.deps, { roles, idleWaitMs: 100, ...options });
    supervisors.push(supervisor);
    return supervisor;
  }

  const agentRows = (role?: Role) => {
    let query = t.handle.db.selectFrom('agents').selectAll().orderBy('instance_id');
    if (role) query = query.where('role', '=', role);
    return query.execute();
  };

  it('registers an agent row per worker and runs tasks through it (fake claude CLI replaying recorded output)', async () => {
    const h = makeHarness(t, { claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT } });
    const supervisor = supervise(h, ['pm', 'architect']);
    await supervisor.start();
    const rows = await agentRows();
    expect(rows.map((r) => [r.role, r.status, r.pid])).toEqual([
      ['architect', 'idle', process.pid],
      ['pm', 'idle', process.pid],
    ]);
    expect(Object.keys(supervisor.running()).sort()).toEqual(['architect', 'pm']);

    const task = await storyTask(h);
    await waitFor('the task to complete', async () => (await h.queue.get(task.id)).status === 'completed');
    const [session] = await sessionsOf(t, task.id);
    const pm = (await agentRows('pm'))[0]!;
    expect(session!.agent_instance_id).toBe(pm.instance_id);
    await waitFor('the pm agent to be idle again with its provider', async () => {
      const row = (await agentRows('pm'))[0];
      return row?.status === 'idle' && row.provider === 'claude' && row.current_task_id === null;
    });
  });

  itSpread()(
    'a crashed agent loop is marked crashed and restarts after watcher.restart_delay (crash injected: the wake-up channel fails twice)',
    async () => {
      const h = makeHarness(t, {
        claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT },
        overrides: { watcher: { restart_delay: 1 } },
      });
      // A queue whose wake-up fails twice in a row: the worker loop's own recovery fails too, so the loop crashes.
      let failures = 2;
      const flaky = Object.create(h.queue) as TaskQueue;
      flaky.waitForWork = (timeoutMs: number, signal?: AbortSignal) =>
        failures-- > 0
          ? Promise.reject(new Error('simulated crash: the wake-up channel was lost'))
          : h.queue.waitForWork(timeoutMs, signal);
      const supervisor = new AgentSupervisor({ ...h.deps, queue: flaky }, { roles: ['pm'], idleWaitMs: 100 });
      supervisors.push(supervisor);
      await supervisor.start();
      const crashed = await waitFor('the pm row to say crashed', async () => {
        const row = (await agentRows('pm'))[0];
        return row?.status === 'crashed' ? row : undefined;
      });
      expect(crashed.status_detail).toMatch(/simulated crash/);
      const crashedAt = Date.now();
      const task = await storyTask(h);
      await waitFor(
        'the restarted loop to complete the task',
        async () => (await h.queue.get(task.id)).status === 'completed',
      );
      // The loop came back only after the restart delay (1 s), and on the same agent row.
      const events = await t.handle.db
        .selectFrom('events')
        .select(['kind', 'data', 'created_at'])
        .where('subject_type', '=', 'agent')
        .where('kind', '=', 'agent.status')
        .orderBy('id')
        .execute();
      const statuses = events.map((e) => (JSON.parse(e.data) as { status: string }).status);
      const crashIndex = statuses.indexOf('crashed');
      expect(crashIndex).toBeGreaterThanOrEqual(0);
      const back = events[crashIndex + 1]!;
      expect(back.created_at - events[crashIndex]!.created_at).toBeGreaterThanOrEqual(1000);
      expect(Date.now()).toBeGreaterThan(crashedAt);
      expect(await agentRows('pm')).toHaveLength(1);
    },
  );

  // On one engine: the controls' SQL (desired replicas, restart requests) runs on both in agents-scale.test.ts (two
  // processes) and server/operations.test.ts.
  itSpread()('scaling a role to 0 stops its workers, to 2 starts two; a restart request restarts them', async () => {
    const h = makeHarness(t, { claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT } });
    const supervisor = supervise(h, ['pm', 'architect']);
    await supervisor.start();
    const running = (role: Role) => supervisor.running()[role] ?? [];

    await scaleRole(t.handle.db, 'pm', 0, 'test', Date.now());
    await waitFor('pm to scale to 0', () => running('pm').length === 0, 10_000);
    await waitFor('the pm row to say stopped', async () =>
      (await agentRows('pm')).every((r) => r.status === 'stopped'),
    );
    expect(running('architect')).toHaveLength(1);

    await scaleRole(t.handle.db, 'pm', 2, 'test', Date.now());
    await waitFor('pm to scale to 2', () => running('pm').length === 2, 10_000);
    const scaled = [...running('pm')].sort();
    const live = async () => (await agentRows('pm')).filter((r) => r.status !== 'stopped').map((r) => r.instance_id);
    await waitFor('two live pm rows', async () => (await live()).length === 2);
    expect((await live()).sort()).toEqual(scaled);

    await requestRestart(t.handle.db, 'pm', 'test', Date.now() + 1);
    const restarted = await waitFor(
      'both pm workers to be replaced',
      () => {
        const now = running('pm');
        return now.length === 2 && now.every((id) => !scaled.includes(id)) ? now : undefined;
      },
      10_000,
    );
    await waitFor('the old rows stopped', async () =>
      (await agentRows('pm')).filter((r) => scaled.includes(r.instance_id)).every((r) => r.status === 'stopped'),
    );
    expect((await live()).sort()).toEqual([...restarted].sort());
    expect(running('architect')).toHaveLength(1);

    // The restarted workers work.
    const task = await storyTask(h);
    await waitFor('the task to complete', async () => (await h.queue.get(task.id)).status === 'completed');
  });

  itSpread()('an agent whose providers are all rate limited says so in its row', async () => {
    const clock = { offset: SUBSCRIPTION_RESET_MS - 2 * 3_600_000 - Date.now() };
    const h = makeHarness(t, {
      clock,
      overrides: { llm: { auto_fallback_on_rate_limit: false } },
      claude: { recording: 'stream-json-subscription-limit.jsonl' },
    });
    const supervisor = supervise(h, ['pm']);
    await supervisor.start();
    const task = await storyTask(h);
    const row = await waitFor('the pm agent to say rate_limited', async () => {
      const [pm] = await agentRows('pm');
      return pm?.status === 'rate_limited' ? pm : undefined;
    });
    expect(row.status_detail).toContain(
      `claude is rate limited until ${new Date(SUBSCRIPTION_RESET_MS).toISOString()}`,
    );
    expect(row.current_task_id).toBeNull();
    expect(await h.queue.get(task.id)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('the daily token budget: spent, the supervisor claims nothing and the agent row says why; under it, work goes on', async () => {
    const now = Date.now();
    await t.handle.db
      .insertInto('sessions')
      .values({
        task_id: null,
        role: 'pm',
        agent_instance_id: null,
        provider: 'claude',
        model: null,
        status: 'succeeded',
        tokens_in: 700,
        tokens_out: 400,
        started_at: now,
        finished_at: now,
      })
      .execute();
    const spent = makeHarness(t, {
      claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT },
      overrides: { tokens: { daily_budget: 1_000 } },
    });
    const task = await storyTask(spent);
    const paused = supervise(spent, ['pm']);
    await paused.start();
    const row = await waitFor('the pm agent to stop for the budget', async () => {
      const [pm] = await agentRows('pm');
      return pm?.status === 'stopped' ? pm : undefined;
    });
    expect(row.status_detail).toBe('daily token budget spent (1100 of 1000 tokens); resumes at 00:00 UTC');
    // Another change to the queue wakes the worker: it checks the budget again (a positive signal, its debug line)
    // and still claims nothing.
    const budgetChecks = () => spent.logs.filter((l) => l.msg === 'not claiming tasks: daily token budget spent');
    const checksBefore = budgetChecks().length;
    await storyTask(spent);
    await waitFor('the pm agent to check the budget again after the wake-up', async () =>
      budgetChecks().length > checksBefore ? true : undefined,
    );
    expect(await taskStatus(spent, task.id)).toBe('pending');
    expect(await sessionsOf(t, task.id)).toEqual([]);
    await paused.stop();
    supervisors.splice(supervisors.indexOf(paused), 1);

    const under = makeHarness(t, {
      claude: { recording: TOOL_SUCCESS, submit: STORY_RESULT },
      overrides: { tokens: { daily_budget: 1_000_000 } },
    });
    const working = supervise(under, ['pm']);
    await working.start();
    await waitFor(
      'the task to complete under the budget',
      async () => (await taskStatus(under, task.id)) === 'completed',
    );
  });
});

async function taskStatus(h: Harness, taskId: number) {
  return (await h.queue.get(taskId)).status;
}
