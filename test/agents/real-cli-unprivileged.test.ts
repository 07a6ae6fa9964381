/**
 * @module Auto-Dev run by an unprivileged user: an agent worker process (dist/test/support/agent-worker-process.js)
 * runs as `nobody` (switched with setpriv when the suite runs as root; the suite's own user otherwise), and its
 * builder session on the REAL Claude Code CLI, sandboxed with bubblewrap, commits its own work against a scripted
 * model stand-in. The same path as the root tests, with no root anywhere.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { makeGitRepo, registerRepo, waitFor } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { STAND_IN_MODELS, startModelStandIns, type ModelStandIns } from '../support/real-cli-sessions.js';
import { ScriptedAgents, type AgentStep, type PromptFacts } from '../../src/demo/scripted-agent.js';
import { builtScript } from '../support/worker-processes.js';

vi.setConfig({ testTimeout: 120_000 });

const NOBODY = 65534;
const AS_ROOT = process.getuid?.() === 0;
const MESSAGE = 'Add the greeting, unprivileged';

function builder(facts: PromptFacts): AgentStep[] {
  return [
    { write: { path: 'greeting.txt', content: 'hello from nobody\n' } },
    { bash: `git add -A && git commit -q -m "${MESSAGE}" && id -u`, expect: { exitCode: 0 } },
    {
      mcp: {
        tool: 'submit_result',
        input: {
          status: 'done',
          summary: 'Added the greeting.',
          branch: facts.branch ?? 'unknown-branch',
          commits: [{ sha: '0000000', message: MESSAGE }],
          files_changed: ['greeting.txt'],
        },
      },
      expect: { outputIncludes: 'result recorded' },
    },
    { say: 'Done.' },
  ];
}

const agents = new ScriptedAgents((_prompt, facts) => builder(facts));
let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
});

describe.each(DIALECTS)(
  '%s: Auto-Dev as an unprivileged user, a real agent CLI against a stand-in model',
  (dialect) => {
    const t = useTestDatabase(dialect);
    let worker: ChildProcess | undefined;
    let root: string | undefined;
    afterEach(async () => {
      if (worker && worker.exitCode === null) {
        const exited = new Promise((resolve) => worker!.once('exit', resolve));
        worker.kill('SIGKILL');
        await exited;
      }
      if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    it('a worker process running as nobody (setpriv when the suite is root) has the real Claude Code CLI commit in the sandbox', async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-nobody-'));
      const dataDir = path.join(root, 'data');
      const home = path.join(root, 'home');
      fs.mkdirSync(dataDir);
      fs.mkdirSync(home);
      const repo = makeGitRepo(root);
      const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
      const config = path.join(root, 'settings.yaml');
      fs.writeFileSync(
        config,
        YAML.stringify({
          llm: {
            default_provider: 'claude',
            fallback_provider: 'claude',
            providers: {
              claude: {
                executable: null,
                model: STAND_IN_MODELS.claude,
                env: {
                  ANTHROPIC_BASE_URL: standIns.messages.baseUrl,
                  ANTHROPIC_API_KEY: 'sk-ant-stand-in',
                  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
                },
              },
            },
          },
          sandbox: { mode: 'bubblewrap' },
          queue: { retry_base_seconds: 600, retry_max_seconds: 900 },
        }),
      );
      const queue = new TaskQueue(t.handle);
      const task = await queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'Greeting' },
        repoId,
        createdBy: 't',
      });
      await queue.close();
      if (AS_ROOT) {
        // Everything the worker writes belongs to nobody: its data dir, home, the repository, the SQLite file.
        execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, root]);
        if (t.sqlitePath) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, path.dirname(t.sqlitePath)]);
      }
      const args = [
        builtScript('test/support/agent-worker-process.js'),
        ...[
          '--database',
          t.databaseUrl ?? t.sqlitePath!,
          '--data-dir',
          dataDir,
          '--config',
          config,
          '--roles',
          'builder',
        ],
      ];
      const [command, commandArgs] = AS_ROOT
        ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...args]]
        : [process.execPath, args];
      let stderr = '';
      worker = spawn(command, commandArgs as string[], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
      });
      worker.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));

      await waitFor(
        async () => `the task to settle (worker stderr: ${stderr})`,
        async () => {
          const row = await t.handle.db
            .selectFrom('tasks')
            .select('status')
            .where('id', '=', task.id)
            .executeTakeFirst();
          return row?.status === 'completed' || row?.status === 'failed';
        },
        90_000,
      );
      const done = await t.handle.db
        .selectFrom('tasks')
        .selectAll()
        .where('id', '=', task.id)
        .executeTakeFirstOrThrow();
      expect(done.status, `${String(done.error)} ${stderr}`).toBe('completed');
      const branch = (JSON.parse(done.result!) as { branch: string }).branch;
      // The repository is nobody's now: the suite (root) reads it with an exception for this path only.
      const read = (...gitArgs: string[]) =>
        execFileSync('git', ['-c', `safe.directory=${repo.path}`, '-C', repo.path, ...gitArgs], {
          encoding: 'utf8',
        }).trim();
      expect(read('log', '-1', '--format=%s', branch)).toBe(MESSAGE);
      expect(read('show', `${branch}:greeting.txt`)).toBe('hello from nobody');
      if (AS_ROOT) {
        // The worker really was nobody: the files it created are nobody's.
        const sessionDirs = fs.readdirSync(path.join(dataDir, 'sessions'));
        expect(fs.statSync(path.join(dataDir, 'sessions', sessionDirs[0]!)).uid).toBe(NOBODY);
      }
      const [session] = await t.handle.db.selectFrom('sessions').selectAll().where('task_id', '=', task.id).execute();
      expect(session).toMatchObject({ status: 'succeeded', provider: 'claude' });
      expect(agents.failuresOf('claude', session!.provider_session_id)).toEqual([]);
    });
  },
);
