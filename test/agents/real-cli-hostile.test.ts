/**
 * @module A hostile session on the REAL Claude Code and Codex CLIs (the model is a scripted stand-in), through
 * Auto-Dev's runtime, sandboxed as root: the agent plants everything that would make Auto-Dev run its code on the
 * host afterwards (its clone's `.git` replaced by a `gitdir:` file pointing at a directory it controls, whose config
 * sets `core.fsmonitor`; hooks through `core.hooksPath`; a clean filter; an `include.path`), prints its environment
 * and tries to read the operator's CLI login, the admin token and the database. Then the repository's test gate and
 * deploy command (which the agent could have written) try the same. Nothing may run outside the sandbox (a marker
 * under /var/tmp, read-only inside, must never appear), no credential may be read, and no secret value may reach the
 * database: transcripts, results, events (a dump of every table is searched).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliSecretMasker } from '../../src/cli/context.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { gitIn, makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';
import {
  REAL_CLI_PROVIDERS,
  realCliRuntime,
  runOneAttempt,
  startModelStandIns,
  type ModelStandIns,
  type RealCliRuntime,
} from '../support/real-cli-sessions.js';
import { ScriptedAgents, type AgentStep, type PromptFacts } from '../../src/demo/scripted-agent.js';

vi.setConfig({ testTimeout: 150_000 });

const MARKER_DIR = fs.mkdtempSync('/var/tmp/autodev-hostile-');
const OPERATOR_LOGIN = 'operator-oauth-refresh-token-7f3a9c1e5b2d4f6a8c0e';
const ADMIN_TOKEN = 'admin-token-1c9e7a5b3d2f4e6a8c0b-never-leak';
const DEPLOY_SECRET = 'deploy-secret-9a8b7c6d5e4f3a2b1c0d-never-leak';

/** Where the planted scripts try to reach; filled per test. */
interface Targets {
  marker: string;
  operatorLogin: string;
  adminToken: string;
  database: string;
}

/** A script that, wherever it runs, marks the host and collects whatever secrets it can read into the clone. */
function evilScript(targets: Targets): string {
  return [
    '#!/bin/sh',
    `touch '${targets.marker}' 2>/dev/null`,
    `for f in '${targets.operatorLogin}' '${targets.adminToken}' '${targets.database}' /etc/shadow; do cat "$f" >> stolen.txt 2>/dev/null; done`,
    'env >> stolen.txt 2>/dev/null',
    'exit 0',
    '',
  ].join('\n');
}

function hostileBuilder(facts: PromptFacts, targets: Targets): AgentStep[] {
  const plant = [
    'chmod +x evil.sh',
    'mkdir -p .hooks && for h in pre-commit post-commit post-checkout post-index-change; do cp evil.sh .hooks/$h; done',
    'git config core.hooksPath "$PWD/.hooks"',
    "printf '* filter=evil\\n' > .gitattributes",
    'git config filter.evil.clean "$PWD/evil.sh"',
    'printf "[core]\\n\\tfsmonitor = %s/evil.sh\\n" "$PWD" > evil.gitconfig',
    'git config include.path "$PWD/evil.gitconfig"',
    'git add -A && git commit -q -m "Add the feature" || true',
    // The attack of the report: `.git` becomes a gitdir: file pointing at a directory the agent controls.
    'mv .git .evil-git && printf "gitdir: %s/.evil-git\\n" "$PWD" > .git',
    'git config core.fsmonitor "$PWD/evil.sh"',
    'echo "uncommitted" > uncommitted.txt',
  ].join(' && ');
  return [
    { mcp: { tool: 'read_task', input: {} } },
    { write: { path: 'evil.sh', content: evilScript(targets) } },
    { bash: plant, expect: { exitCode: 0 } },
    { bash: 'env' },
    {
      bash: `cat '${targets.operatorLogin}' '${targets.adminToken}' '${targets.database}' ~/.claude/.credentials.json`,
    },
    {
      mcp: {
        tool: 'submit_result',
        input: {
          status: 'done',
          summary: 'Added the feature.',
          branch: facts.branch ?? 'unknown-branch',
          commits: [{ sha: '0000000', message: 'Add the feature' }],
          files_changed: ['evil.sh'],
        },
      },
    },
    { say: 'Done.' },
  ];
}

function tester(): AgentStep[] {
  return [
    { bash: 'true' },
    {
      mcp: {
        tool: 'submit_result',
        input: {
          status: 'done',
          summary: 'Ran the tests.',
          command: 'sh test.sh',
          passed: 1,
          failed: 0,
          skipped: 0,
          failures: [],
        },
      },
    },
    { say: 'Done.' },
  ];
}

let targets: Targets;
const agents = new ScriptedAgents((_prompt, facts) => {
  if (facts.taskType === 'implement_feature') return hostileBuilder(facts, targets);
  if (facts.taskType === 'run_tests') return tester();
  throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
});

let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
  fs.rmSync(MARKER_DIR, { recursive: true, force: true });
});

/** Every row of every table, as text: what a viewer token, a backup or a log could ever show. */
async function databaseDump(t: TestDatabase): Promise<string> {
  const tables = await t.handle.db.introspection.getTables();
  const rows: unknown[] = [];
  for (const table of tables) {
    rows.push(
      await t.handle.db
        .selectFrom(table.name as never)
        .selectAll()
        .execute(),
    );
  }
  const text = JSON.stringify(rows);
  // SQLite: the file and its write-ahead log as bytes, whatever a query shows.
  const files = t.sqlitePath ? [t.sqlitePath, `${t.sqlitePath}-wal`].filter((file) => fs.existsSync(file)) : [];
  return text + files.map((file) => fs.readFileSync(file, 'latin1')).join('');
}

describe.each(DIALECTS)(
  '%s: a hostile session through a real agent CLI, against a scripted model stand-in',
  (dialect) => {
    const t = useTestDatabase(dialect);
    const runtimes: RealCliRuntime[] = [];
    const handles: DatabaseHandle[] = [];
    afterEach(async () => {
      for (const runtime of runtimes.splice(0)) await runtime.close();
      for (const handle of handles.splice(0)) await handle.close();
    });

    it.each(REAL_CLI_PROVIDERS)(
      'real %s CLI: the planted fsmonitor, hooks, filter, include and redirected .git run nothing on the host; no credential is read or stored',
      async (provider) => {
        const runtime = realCliRuntime(t.handle, standIns, provider);
        runtimes.push(runtime);
        const operatorLogin = path.join(
          runtime.home,
          provider === 'claude' ? '.claude/.credentials.json' : '.codex/auth.json',
        );
        fs.mkdirSync(path.dirname(operatorLogin), { recursive: true });
        fs.writeFileSync(operatorLogin, JSON.stringify({ token: OPERATOR_LOGIN }), { mode: 0o600 });
        fs.writeFileSync(path.join(runtime.dataDir, 'admin-token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
        targets = {
          marker: path.join(MARKER_DIR, `${dialect}-${provider}`),
          operatorLogin,
          adminToken: path.join(runtime.dataDir, 'admin-token'),
          database: t.sqlitePath ?? path.join(runtime.dataDir, 'autodev.db'),
        };
        const repo = makeGitRepo(runtime.root);
        const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
        // The test and deploy commands are the repository's: an agent could have written them. They try the same.
        const steal = `sh -c 'touch ${targets.marker}.gate; cat ${operatorLogin} ${targets.adminToken} 2>&1; env'`;
        await t.handle.db
          .updateTable('repositories')
          .set({
            test_command: `${steal} && echo "ok 1 - passes" && echo "# pass 1"`,
            deploy_command: steal,
            settings: JSON.stringify({ deploy_secrets: ['DEPLOY_TOKEN'] }),
          })
          .where('id', '=', repoId)
          .execute();
        runtime.deps.env.DEPLOY_TOKEN = DEPLOY_SECRET;
        // The runtime writes through a handle with Auto-Dev's secret masker, as `autodev up` opens it.
        const masker = cliSecretMasker(runtime.dataDir, runtime.deps.env, runtime.deps.settings);
        const masked = await openDatabase({
          ...(t.databaseUrl ? { databaseUrl: t.databaseUrl } : { sqlitePath: t.sqlitePath! }),
          transformParameter: (text) => masker.maskText(text),
        });
        handles.push(masked);
        await runtime.queue.close();
        runtime.queue = new TaskQueue(masked, queueSettingsFrom(runtime.deps.settings));
        runtime.deps.queue = runtime.queue;

        const build = await runtime.queue.enqueue({
          type: 'implement_feature',
          payload: { title: 'Hostile' },
          repoId,
          createdBy: 'test',
        });
        const built = await runOneAttempt(runtime, 'builder', build.id);
        expect(built.errors).toEqual([]);
        expect(built.task.status, JSON.stringify(built.task.error)).toBe('completed');
        const branch = (built.task.result as { branch: string }).branch;

        const test = await runtime.queue.enqueue({
          type: 'run_tests',
          payload: { title: 'Test hostile', branch },
          repoId,
          createdBy: 'test',
        });
        const tested = await runOneAttempt(runtime, 'tester', test.id);
        expect(tested.task.status, JSON.stringify(tested.task.error)).toBe('completed');
        // The test gate and the deploy could not read the operator's CLI login or the admin token: hidden, not masked.
        const gateOutput = (tested.task.result as { gates: { tests: { output_tail: string } } }).gates.tests
          .output_tail;
        expect(gateOutput).toContain(`${operatorLogin}: No such file or directory`);
        expect(gateOutput).toContain(`${targets.adminToken}: No such file or directory`);
        const sha = gitIn(repo.path, 'rev-parse', branch);
        const deploy = await runtime.queue.enqueue({ type: 'deploy', payload: { sha }, repoId, createdBy: 'test' });
        const deployed = await runOneAttempt(runtime, 'devops', deploy.id);
        expect(deployed.task.status, JSON.stringify(deployed.task.error)).toBe('completed');
        const deployOutput = (deployed.task.result as { deploy: { output_tail: string } }).deploy.output_tail;
        expect(deployOutput).toContain(`${operatorLogin}: No such file or directory`);

        // 1. Nothing ran on the host: not the planted scripts (during the save, the gate's checkout, the merge base
        // reads), not the gate or deploy command outside their sandbox.
        expect(fs.readdirSync(MARKER_DIR)).toEqual([]);
        // 2. The save ran (a WIP commit by Auto-Dev on the task branch), the default branch did not move.
        expect(gitIn(repo.path, 'log', '-1', '--format=%an', branch)).toBe('Auto-Dev');
        expect(gitIn(repo.path, 'rev-parse', 'main')).toBe(repo.initialCommit);
        // The planted scripts did run, inside the sandbox (during the agent's own git commands and the save).
        const clone = path.join(runtime.dataDir, 'worktrees', 'shop', `task-${build.id}`);
        const stolen = fs.readFileSync(path.join(clone, 'stolen.txt'), 'utf8');
        // 3. What the scripts could read inside the sandbox holds no credential of the operator or the server.
        for (const secret of [OPERATOR_LOGIN, ADMIN_TOKEN, DEPLOY_SECRET]) expect(stolen).not.toContain(secret);
        // Nor the machine's own secrets (root-owned files are readable to a sandbox run by root unless hidden).
        const shadow = fs.existsSync('/etc/shadow') ? fs.readFileSync('/etc/shadow', 'utf8').split('\n')[0]! : '';
        if (shadow) expect(stolen).not.toContain(shadow);
        // 4. Nothing stored holds a secret: not the operator's login, the admin token, the deploy secret (the deploy
        // may use it, its output is masked), nor the provider key the session's `env` printed.
        const providerKey = provider === 'claude' ? 'sk-ant-stand-in' : 'sk-stand-in';
        const dump = await databaseDump(t);
        for (const secret of [OPERATOR_LOGIN, ADMIN_TOKEN, DEPLOY_SECRET, providerKey]) {
          expect(dump.includes(secret), `${secret} is stored in the database`).toBe(false);
        }
      },
    );
  },
);
