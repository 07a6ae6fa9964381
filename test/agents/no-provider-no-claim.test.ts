/**
 * @module No provider, no claim: with no provider the role may use logged in (or the preferred one rate limited and
 * the fallback not logged in), the supervisor's agents claim nothing: the task stays pending with its attempts, and
 * `autodev agents status` (the BUILT cli) shows why. A login (the credentials file appearing), a key added to the
 * environment, or the rate limit's reset starts the work without a restart. Sessions run on the fake Claude Code CLI
 * (a stand-in for the model) replaying recorded output, sandboxed, through the real MCP server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, vi } from 'vitest';
import { AgentSupervisor } from '../../src/agents/agent-supervisor.js';
import { markProviderLimited } from '../../src/agents/provider-limits.js';
import type { AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import {
  agentSettings,
  autodevCliEntry,
  testRuntimeDeps,
  waitFor,
  type AgentSettingsOptions,
} from '../support/agent-fixtures.js';
import { runBuiltCli } from '../support/built-cli.js';
import { DIALECTS, useTestDatabase, type TestDatabase, itOnSpread } from '../support/dialects.js';

vi.setConfig({ testTimeout: 90_000 });

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
const FAKE_CLAUDE = { recording: 'stream-json-tool-success.jsonl', submit: STORY_RESULT };

let cliEntry: string;
beforeAll(() => {
  cliEntry = autodevCliEntry();
});

const roots: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

interface Harness {
  queue: TaskQueue;
  deps: AgentRuntimeDeps;
  home: string;
}

function makeHarness(t: TestDatabase, options: AgentSettingsOptions): Harness {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-noprovider-'));
  roots.push(root);
  const home = path.join(root, 'home');
  fs.mkdirSync(home, { recursive: true });
  const settings = agentSettings(options);
  const queue = new TaskQueue(t.handle, queueSettingsFrom(settings));
  const deps = testRuntimeDeps(queue, settings, { root, home }, cliEntry);
  const supervisor = new AgentSupervisor(deps, { roles: ['pm'], idleWaitMs: 100 });
  cleanups.push(async () => {
    await supervisor.stop();
    await queue.close();
  });
  void supervisor.start();
  return { queue, deps, home };
}

describe.each(DIALECTS)('%s: no provider, no claim', (dialect) => {
  const t = useTestDatabase(dialect);

  const pmRow = () => t.handle.db.selectFrom('agents').selectAll().where('role', '=', 'pm').executeTakeFirst();

  async function waitingReason(what: RegExp) {
    return waitFor(`the pm agent to say why it waits (${what})`, async () => {
      const row = await pmRow();
      return row && row.status !== 'idle' && what.test(row.status_detail ?? '') ? row : undefined;
    });
  }

  async function storyTask(h: Harness) {
    return h.queue.enqueue({ type: 'create_user_story', payload: { idea: 'CSV export of orders' }, createdBy: 'test' });
  }

  itOnSpread(dialect, 0)(
    'not logged in: the task stays pending and agents status says why; the credentials file appearing starts it',
    async () => {
      const h = makeHarness(t, { claude: FAKE_CLAUDE, loggedIn: [] });
      const task = await storyTask(h);
      const credentials = path.join(h.home, '.claude', '.credentials.json');
      const row = await waitingReason(/claude is not logged in/);
      expect(row.status).toBe('waiting');
      expect(row.status_detail).toBe(
        'no provider can run: claude is not logged in (no ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or ' +
          `CLAUDE_CODE_OAUTH_TOKEN; no ${credentials}); codex (the fallback) is not logged in (no OPENAI_API_KEY or ` +
          `CODEX_API_KEY; no ${path.join(h.home, '.codex', 'auth.json')}): run "claude login" as the user that runs ` +
          'Auto-Dev, or set ANTHROPIC_API_KEY (in the environment or llm.providers.claude.env)',
      );
      // The supervisor has looked and decided not to claim: the task is untouched.
      expect(await h.queue.get(task.id)).toMatchObject({ status: 'pending', attempts: 0 });

      const shown = await runBuiltCli(t, ['agents', 'status']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(
        /^pm\s+waiting\s+pm@\S+ \(no provider can run: claude is not logged in .*run "claude login"/m,
      );
      const json = JSON.parse((await runBuiltCli(t, ['agents', 'status', '--json'])).stdout) as {
        agents: { role: string; status: string; detail: string }[];
      };
      expect(json.agents.find((a) => a.role === 'pm')).toMatchObject({ status: 'waiting', detail: row.status_detail });

      // `claude login` writes its credentials file: the work starts, no restart.
      fs.mkdirSync(path.dirname(credentials), { recursive: true });
      fs.writeFileSync(credentials, JSON.stringify({ claudeAiOauth: { accessToken: 'stand-in-oauth-token' } }));
      await waitFor('the task to complete', async () => (await h.queue.get(task.id)).status === 'completed');
      expect(await h.queue.get(task.id)).toMatchObject({ status: 'completed', attempts: 1 });
      await waitFor('the pm agent to be idle, its reason gone', async () => {
        const now = await pmRow();
        return now?.status === 'idle' && now.status_detail === null;
      });
    },
  );

  itOnSpread(dialect, 1)('a key added to the environment the process sees starts the work', async () => {
    const h = makeHarness(t, { claude: FAKE_CLAUDE, loggedIn: [] });
    const task = await storyTask(h);
    await waitingReason(/claude is not logged in/);
    expect(await h.queue.get(task.id)).toMatchObject({ status: 'pending', attempts: 0 });
    h.deps.env.ANTHROPIC_API_KEY = 'sk-ant-stand-in-key';
    await waitFor('the task to complete', async () => (await h.queue.get(task.id)).status === 'completed');
    expect(await h.queue.get(task.id)).toMatchObject({ attempts: 1 });
  });

  itOnSpread(dialect, 2)(
    'rate limited with the fallback not logged in: pending until the reset passes, then it runs',
    async () => {
      const h = makeHarness(t, { claude: FAKE_CLAUDE, loggedIn: ['claude'] });
      const until = Date.now() + 2_500;
      await markProviderLimited(t.handle.db, {
        provider: 'claude',
        until,
        reason: '429 from the stand-in',
        now: Date.now(),
      });
      const task = await storyTask(h);
      const row = await waitingReason(/claude is rate limited until/);
      expect(row.status_detail).toBe(
        `no provider can run: claude is rate limited until ${new Date(until).toISOString()}; codex (the fallback) is ` +
          `not logged in (no OPENAI_API_KEY or CODEX_API_KEY; no ${path.join(h.home, '.codex', 'auth.json')}): run ` +
          '"codex login" as the user that runs Auto-Dev, or set OPENAI_API_KEY (in the environment or llm.providers.codex.env)',
      );
      const waiting = await h.queue.get(task.id);
      expect(waiting).toMatchObject({ status: 'pending', attempts: 0 });
      await waitFor(
        'the task to complete after the reset',
        async () => (await h.queue.get(task.id)).status === 'completed',
      );
      const done = await h.queue.get(task.id);
      expect(done.attempts).toBe(1);
      expect(Date.now()).toBeGreaterThanOrEqual(until);
    },
  );
});
