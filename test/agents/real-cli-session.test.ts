/**
 * @module The REAL Claude Code and Codex CLIs as agents through Auto-Dev's runtime (createAgentTaskHandler), sandboxed
 * in bubblewrap (as root when the suite runs as root), talking to the real `autodev mcp` server; only the model is a stand-in: local Messages and
 * Responses APIs playing a scripted reviewer (scripted-agent.ts) the way each CLI really offers its tools (MCP tools
 * deferred behind ToolSearch / tool_search). Each session's wall time split is printed for the overhead benchmark.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { gitIn, makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import type { LlmProviderName } from '../../src/config/settings-schema.js';
import type { Task } from '../../src/queue/task-record.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';
import {
  REAL_CLI_PROVIDERS,
  realCliRuntime,
  realClisInstalled,
  runAttempts,
  runOneAttempt,
  sessionTimeSplit,
  startModelStandIns,
  type ModelStandIns,
  type RealCliRuntime,
} from '../support/real-cli-sessions.js';
import { ScriptedAgents, type AgentStep, type PromptFacts } from '../../src/demo/scripted-agent.js';

vi.setConfig({ testTimeout: 150_000 });

/** Who runs the sessions: as root, the sandbox runs the CLI as an unprivileged uid (sandbox.ts sandboxUid). */
const AS_USER = process.getuid?.() === 0 ? 'as root' : 'as an unprivileged user';

const FEATURE_SUBJECT = 'Add CSV export of orders';
const FEATURE_LINE = 'export function ordersCsv() { return "id,total"; }';

const REVIEW_RESULT = {
  status: 'done',
  summary: 'Read the diff: one small, correct function; approving.',
  verdict: 'approve',
  findings: [{ severity: 'minor', file: 'src/export.js', line: 1, message: 'Name the CSV columns in a constant.' }],
};

function reviewerScript(facts: PromptFacts): AgentStep[] {
  return [
    { mcp: { tool: 'read_task', input: {} }, expect: { outputIncludes: `"type": "review_mr"` } },
    { bash: 'git log --oneline', expect: { exitCode: 0, outputIncludes: FEATURE_SUBJECT } },
    { bash: 'git diff main...HEAD', expect: { exitCode: 0, outputIncludes: FEATURE_LINE } },
    { mcp: { tool: 'submit_result', input: REVIEW_RESULT }, expect: { outputIncludes: 'result recorded' } },
    { say: `Reviewed task ${facts.taskId ?? '?'}: approved.` },
  ];
}

const agents = new ScriptedAgents((prompt, facts) => {
  if (facts.taskType === 'review_mr') return reviewerScript(facts);
  throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
});

let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
});

describe('real agent CLIs are installed', () => {
  it('the Claude Code binary bundled with the Agent SDK and the @openai/codex CLI', () => {
    expect(realClisInstalled()).toEqual({ claude: expect.any(String), codex: expect.any(String) });
  });
});

/** A repository whose `feature/csv` branch adds one file on top of `main`, registered as `name`. */
async function repoToReview(t: TestDatabase, runtime: RealCliRuntime, name = 'shop') {
  const repo = makeGitRepo(runtime.root, name);
  gitIn(repo.path, 'checkout', '--quiet', '-b', 'feature/csv');
  fs.mkdirSync(path.join(repo.path, 'src'));
  fs.writeFileSync(path.join(repo.path, 'src', 'export.js'), `${FEATURE_LINE}\n`);
  gitIn(repo.path, 'add', '--all');
  gitIn(repo.path, '-c', 'user.name=Dev', '-c', 'user.email=dev@localhost', 'commit', '-q', '-m', FEATURE_SUBJECT);
  gitIn(repo.path, 'checkout', '--quiet', 'main');
  return { path: repo.path, id: await registerRepo(t.handle.db, { name, location: repo.path }) };
}

async function reviewTask(runtime: RealCliRuntime, repoId: number) {
  return runtime.queue.enqueue({
    type: 'review_mr',
    payload: { title: 'CSV export', branch: 'feature/csv', target_branch: 'main' },
    repoId,
    createdBy: 'test',
  });
}

/** Checks a finished reviewer task: completed with the scripted result, one session, played without a failure. */
async function expectReviewed(t: TestDatabase, provider: LlmProviderName, done: Task, errors: unknown[]) {
  const sessions = await t.handle.db.selectFrom('sessions').selectAll().where('task_id', '=', done.id).execute();
  const cliSessionId = sessions[0]?.provider_session_id ?? null;
  const mine = agents.failuresOf(provider, cliSessionId);
  const diagnosis = JSON.stringify(
    {
      error: done.error,
      sessions,
      failures: mine,
      errors: errors.map(String),
      standInSessions: agents.allSessions().map((s) => [s.provider, s.session, s.facts.taskId, s.turns.length]),
    },
    null,
    1,
  );
  expect(errors).toEqual([]);
  // The stand-in played this very session (the CLI's session id is the one Auto-Dev recorded).
  expect(agents.session(provider, cliSessionId), diagnosis).toBeDefined();
  expect(mine, diagnosis).toEqual([]);
  expect(done.status, diagnosis).toBe('completed');
  expect(done.result).toMatchObject({ ...REVIEW_RESULT, provider, session_id: sessions[0]!.id });
  expect(sessions).toHaveLength(1);
  expect(sessions[0]).toMatchObject({ status: 'succeeded', provider, role: 'reviewer' });
  console.log(sessionTimeSplit(agents, sessions[0]!));
  return { session: sessions[0]!, turns: agents.session(provider, cliSessionId)!.turns };
}

describe.each(DIALECTS)('%s: real agent CLIs through the runtime, against scripted model stand-ins', (dialect) => {
  const t = useTestDatabase(dialect);
  const runtimes: RealCliRuntime[] = [];
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.close();
  });

  it.each(REAL_CLI_PROVIDERS)(
    `real %s CLI, sandboxed ${AS_USER}, with a stand-in model playing a reviewer: read_task over MCP, git log and git diff in the shell, a valid review_mr through submit_result`,
    async (provider) => {
      const runtime = realCliRuntime(t.handle, standIns, provider);
      runtimes.push(runtime);
      const repo = await repoToReview(t, runtime);
      const task = await reviewTask(runtime, repo.id);

      const { task: done, errors } = await runOneAttempt(runtime, 'reviewer', task.id);

      const { turns } = await expectReviewed(t, provider, done, errors);
      // The CLI offered the MCP tools only through its deferred-tool search: Claude Code's ToolSearch loads the tools
      // it selects, Codex's tool_search returns the whole mcp__autodev namespace at once.
      expect(turns.map((turn) => turn.answered)).toEqual(
        provider === 'claude'
          ? ['tool_search', 'mcp', 'bash', 'bash', 'tool_search', 'mcp', 'say']
          : ['tool_search', 'mcp', 'bash', 'bash', 'mcp', 'say'],
      );
      // Nothing the reviewer did changed the repository.
      expect(gitIn(repo.path, 'status', '--porcelain')).toBe('');
    },
  );

  it.each(REAL_CLI_PROVIDERS)(
    'two real %s CLI sessions at once, one stand-in model serving both: each plays its own script to the end',
    async (provider) => {
      const runtime = realCliRuntime(t.handle, standIns, provider);
      runtimes.push(runtime);
      // Two repositories: preparing two worktrees of one repository at once races in worktrees.ts today
      // ("git worktree list ... failed to read .git/worktrees/task-1/commondir"), which is not what this tests.
      const first = await reviewTask(runtime, (await repoToReview(t, runtime, 'shop')).id);
      const second = await reviewTask(runtime, (await repoToReview(t, runtime, 'depot')).id);

      const { tasks, errors } = await runAttempts(runtime, 'reviewer', [first.id, second.id], { loops: 2 });

      const [a, b] = [
        await expectReviewed(t, provider, tasks[0]!, errors),
        await expectReviewed(t, provider, tasks[1]!, errors),
      ];
      expect(a.session.provider_session_id).not.toBe(b.session.provider_session_id);
      // The two sessions ran at the same time: each started before the other finished.
      expect(a.session.started_at).toBeLessThan(b.session.finished_at!);
      expect(b.session.started_at).toBeLessThan(a.session.finished_at!);
    },
  );
});
