/**
 * @module A builder on the REAL Claude Code and Codex CLIs commits its own work, through Auto-Dev's runtime, sandboxed
 * in bubblewrap as root; only the model is a stand-in (a scripted builder, scripted-agent.ts). The agent writes a
 * file with the CLI's own file tool (Claude's Write, Codex's apply_patch), runs `git add -A && git commit` in the
 * shell, and submits the commit it made: the commit must succeed inside the sandbox and its message must be on the
 * task branch (the agent commits in its own clone: workspace/worktrees.ts). The throwaway HOME has no git identity
 * (like root in most containers): the clone's config gives the agent's commits one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { gitIn, makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import {
  REAL_CLI_PROVIDERS,
  realCliRuntime,
  runOneAttempt,
  sessionTimeSplit,
  startModelStandIns,
  type ModelStandIns,
  type RealCliRuntime,
} from '../support/real-cli-sessions.js';
import { ScriptedAgents, type AgentStep, type PromptFacts, type StepContext } from '../../src/demo/scripted-agent.js';

vi.setConfig({ testTimeout: 150_000 });

/** Who runs the sessions: as root, the sandbox runs the CLI as an unprivileged uid (sandbox.ts sandboxUid). */
const AS_USER = process.getuid?.() === 0 ? 'as root' : 'as an unprivileged user';

const COMMIT_MESSAGE = 'feat: export orders as CSV';
const FILE = 'src/export.js';
const CONTENT =
  'export function ordersCsv(orders) {\n  return orders.map((o) => `${o.id},${o.total}`).join("\\n");\n}\n';

/** The sha the agent read from `git log` (step 3's output: "<sha> <subject>"). */
function committedSha(context: StepContext): string {
  return /\b([0-9a-f]{40})\b/.exec(context.results[3]?.output ?? '')?.[1] ?? 'no-commit-found';
}

function builderScript(facts: PromptFacts): AgentStep[] {
  return [
    { mcp: { tool: 'read_task', input: {} }, expect: { outputIncludes: `"type": "implement_feature"` } },
    { write: { path: FILE, content: CONTENT } },
    { bash: `git add -A && git commit -q -m "${COMMIT_MESSAGE}"`, expect: { exitCode: 0 } },
    { bash: 'git log -1 --format="%H %s"', expect: { exitCode: 0, outputIncludes: COMMIT_MESSAGE } },
    {
      mcp: {
        tool: 'submit_result',
        input: (context) => ({
          status: 'done',
          summary: 'Added ordersCsv and committed it.',
          branch: facts.branch ?? 'unknown-branch',
          commits: [{ sha: committedSha(context), message: COMMIT_MESSAGE }],
          files_changed: [FILE],
        }),
      },
      expect: { outputIncludes: 'result recorded' },
    },
    { say: 'Implemented and committed.' },
  ];
}

const agents = new ScriptedAgents((prompt, facts) => {
  if (facts.taskType === 'implement_feature') return builderScript(facts);
  throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
});

let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
});

describe.each(DIALECTS)('%s: a real agent CLI commits its own work, against a scripted model stand-in', (dialect) => {
  const t = useTestDatabase(dialect);
  const runtimes: RealCliRuntime[] = [];
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.close();
  });

  it.each(REAL_CLI_PROVIDERS)(
    `real %s CLI, sandboxed ${AS_USER}, with a stand-in model playing a builder: writes a file with its file tool, commits it with git in the shell, and the commit is on the task branch`,
    async (provider) => {
      const runtime = realCliRuntime(t.handle, standIns, provider);
      runtimes.push(runtime);
      const repo = makeGitRepo(runtime.root);
      const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
      const task = await runtime.queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'CSV export', story: 'As a shop owner I can export orders as CSV.' },
        repoId,
        createdBy: 'test',
      });

      const { task: done, errors } = await runOneAttempt(runtime, 'builder', task.id);

      const sessions = await t.handle.db.selectFrom('sessions').selectAll().where('task_id', '=', task.id).execute();
      const cliSessionId = sessions[0]?.provider_session_id ?? null;
      const mine = agents.failuresOf(provider, cliSessionId);
      const diagnosis = JSON.stringify(
        { error: done.error, sessions, failures: mine, errors: errors.map(String) },
        null,
        1,
      );
      expect(errors).toEqual([]);
      // The stand-in played this very session (the CLI's session id is the one Auto-Dev recorded).
      expect(agents.session(provider, cliSessionId), diagnosis).toBeDefined();
      expect(mine, diagnosis).toEqual([]);
      expect(done.status, diagnosis).toBe('completed');
      const result = done.result as { branch: string; commits: { sha: string; message: string }[] };
      expect(result).toMatchObject({ status: 'done', provider, files_changed: [FILE] });
      expect(sessions[0]).toMatchObject({ status: 'succeeded', provider, role: 'builder' });

      // The agent's own commit, with its message and its file, is on the task branch of the repository.
      const [commit] = result.commits;
      expect(commit?.message).toBe(COMMIT_MESSAGE);
      expect(gitIn(repo.path, 'log', '--format=%s', result.branch)).toContain(COMMIT_MESSAGE);
      expect(gitIn(repo.path, 'cat-file', '-t', commit!.sha)).toBe('commit');
      expect(gitIn(repo.path, 'merge-base', '--is-ancestor', commit!.sha, result.branch)).toBe('');
      expect(gitIn(repo.path, 'show', `${commit!.sha}:${FILE}`)).toBe(CONTENT.trimEnd());
      // The default branch did not move.
      expect(gitIn(repo.path, 'rev-parse', 'main')).toBe(repo.initialCommit);
      console.log(sessionTimeSplit(agents, sessions[0]!));
    },
  );
});
