/**
 * @module A whole story, PM to deploy, walked by the REAL Claude Code binary on one engine and the REAL Codex binary
 * on the other (`providersFor`) as every agent, through Auto-Dev's own parts: the agent supervisor with every role (`startAgents`), the
 * bubblewrap sandbox (as root when the suite runs as root), the `autodev mcp` session tools, the workflow with its
 * spec and merge approvals decided through the approvals API as a human would (`decideApproval`), the real gates (the
 * repository's `node --test` really runs, the secret scan, the reviewer's lint slot), the local forge's merge and the
 * deploy command. Only the model is a stand-in: local Messages and Responses APIs playing one scripted agent per role
 * (scripted-agent.ts), chosen from the prompt Auto-Dev rendered.
 *
 * The builder's first implementation has a real bug, so the test gate fails and the workflow starts a fix round with
 * the failing test's findings; the builder fixes it on a branch that continues the feature's commits; the gates pass,
 * the merge is approved, merged and deployed. The builder's first commit also plants a fake AWS key that a later
 * commit removes: the last test of the file checks that key never reaches the default branch's history.
 *
 * Also the retry path: a builder whose session stalls (the stand-in never answers) is killed by the watcher's time
 * limit, its uncommitted file is saved as a WIP commit, its CLI home is wiped, and the retry starts a fresh
 * conversation with the previous attempt's transcript in its prompt and completes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAgents } from '../../src/agents/start-agents.js';
import type { AgentSupervisor } from '../../src/agents/agent-supervisor.js';
import type { LlmProviderName } from '../../src/config/settings-schema.js';
import { ROLES } from '../../src/domain/roles.js';
import { addRepository } from '../../src/forge/repositories.js';
import { runTestGate } from '../../src/gates/test-gate.js';
import { defaultHiddenPaths } from '../../src/workspace/sandbox.js';
import { decideApproval } from '../../src/workflow/approvals.js';
import { createStory } from '../../src/workflow/stories.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import type { StoryState } from '../../src/workflow/workflow-steps.js';
import { gitIn, processesMentioning, registerRepo, settleEvents, waitFor } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';
import type { DialectName } from '../../src/store/dialect.js';
import {
  REAL_CLI_PROVIDERS,
  realCliRuntime,
  runAttempts,
  sessionTimeSplit,
  startModelStandIns,
  type ModelStandIns,
  type RealCliRuntime,
} from '../support/real-cli-sessions.js';
import {
  ScriptedAgents,
  type AgentStep,
  type PromptFacts,
  type StepContext,
  type ToolOutcome,
} from '../../src/demo/scripted-agent.js';

vi.setConfig({ testTimeout: 420_000, hookTimeout: 120_000 });

const AS_USER = process.getuid?.() === 0 ? 'as root' : 'as an unprivileged user';
/** Who decides the approvals: a human at the CLI. */
const HUMAN = `cli:${os.userInfo().username}`;

// ---------------------------------------------------------------------------------------------------------------
// The project the story changes: a tiny node package tested with `node --test`.

const STORY_TITLE = 'Slugify titles';
const FEATURE_MESSAGE = 'Add slugify with tests';
const KEY_REMOVAL_MESSAGE = 'Remove the AWS key file';
const FIX_MESSAGE = 'Fix slugify for punctuation';
const FAILING_TEST = 'slugify strips punctuation';
/** A fake AWS access key id in the shape secretlint's AWS rule detects (as in test/gates/secret-scan.test.ts). */
const PLANTED_KEY = ['AKIA', 'QYLPMN5HFIQR7XYA'].join('');
const KEY_FILE = 'config/aws.env';
const DEPLOY_COMMAND = `node -e "console.log('deployed text-kit ' + require('./package.json').version)"`;

const PROJECT_FILES: Record<string, string> = {
  'package.json': '{\n  "name": "text-kit",\n  "version": "1.0.0",\n  "type": "module"\n}\n',
  'README.md': '# text-kit\n\nSmall text helpers. `node --test` runs the tests.\n',
  'src/words.js':
    'export function countWords(text) {\n  return text.trim() === "" ? 0 : text.trim().split(/\\s+/).length;\n}\n',
  'test/words.test.js': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { countWords } from '../src/words.js';",
    '',
    "test('countWords counts words', () => assert.equal(countWords('a b  c'), 3));",
    "test('countWords of blank text is 0', () => assert.equal(countWords('  '), 0));",
    '',
  ].join('\n'),
};

/** The first implementation: keeps punctuation, so the punctuation test fails. */
const SLUGIFY_BUGGY = [
  'export function slugify(title) {',
  '  return title.trim().toLowerCase().split(/\\s+/).join("-");',
  '}',
  '',
].join('\n');
const SLUGIFY_FIXED = [
  'export function slugify(title) {',
  '  return title',
  '    .toLowerCase()',
  '    .replace(/[^a-z0-9\\s-]/g, "")',
  '    .trim()',
  '    .split(/\\s+/)',
  '    .join("-");',
  '}',
  '',
].join('\n');
const SLUGIFY_TESTS = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { slugify } from '../src/slugify.js';",
  '',
  "test('slugify joins words with dashes', () => assert.equal(slugify('Hello World'), 'hello-world'));",
  `test('${FAILING_TEST}', () => assert.equal(slugify('Hello, World!'), 'hello-world'));`,
  '',
].join('\n');

const SPEC_MARKDOWN = '## slugify(title)\n\nLower-case, drop punctuation, join words with "-". Tests with node:test.';

/** A git repository of PROJECT_FILES with one commit on `main`. */
function makeProject(parent: string, name: string): { path: string; initialCommit: string } {
  const repo = path.join(parent, name);
  for (const [file, content] of Object.entries(PROJECT_FILES)) {
    fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    fs.writeFileSync(path.join(repo, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@localhost', ...args], {
      encoding: 'utf8',
    }).trim();
  git('init', '--quiet', '--initial-branch=main');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'text-kit: word counting');
  return { path: repo, initialCommit: git('rev-parse', 'HEAD') };
}

// ---------------------------------------------------------------------------------------------------------------
// The scripted agents, one per task type, chosen from the rendered prompt.

const recorded = { expect: { outputIncludes: 'result recorded' } } as const;

/** The shas a `git rev-parse A B ...` step printed, in order. */
function shasOf(outcome: ToolOutcome | undefined): string[] {
  return [...(outcome?.output ?? '').matchAll(/\b[0-9a-f]{40}\b/g)].map((m) => m[0]);
}

/** The counts and failing tests of a `node --test` run (TAP), as a tester reads them from the output. */
function nodeTestReport(outcome: ToolOutcome | undefined) {
  const output = outcome?.output ?? '';
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? 0);
  const failures = [...output.matchAll(/^\s*not ok \d+ - (.+)$/gm)]
    .map((m) => m[1]!.trim())
    .filter((name) => !name.endsWith('.js'))
    .map((name) => ({ name, message: 'assertion failed: expected "hello-world"' }));
  return { command: 'node --test', passed: count('pass'), failed: count('fail'), skipped: count('skipped'), failures };
}

function pmScript(): AgentStep[] {
  return [
    {
      mcp: {
        tool: 'submit_result',
        input: {
          status: 'done',
          summary: 'One story: readable URL slugs for titles.',
          stories: [
            {
              title: STORY_TITLE,
              body: 'As a writer, I want my titles turned into URL slugs, so that links are readable.',
              acceptance_criteria: ['slugify("Hello World") is "hello-world"', 'punctuation is dropped'],
            },
          ],
        },
      },
      ...recorded,
    },
    { say: 'Story written.' },
  ];
}

function architectScript(): AgentStep[] {
  return [
    {
      mcp: {
        tool: 'submit_result',
        input: {
          status: 'done',
          summary: 'A single pure function with node:test tests.',
          spec_markdown: SPEC_MARKDOWN,
          files_to_touch: ['src/slugify.js', 'test/slugify.test.js'],
          test_plan: 'node:test cases for words and for punctuation.',
          risks: ['Non-ASCII letters are dropped; acceptable for this story.'],
        },
      },
      ...recorded,
    },
    { say: 'Spec written.' },
  ];
}

function featureScript(facts: PromptFacts): AgentStep[] {
  return [
    { write: { path: 'src/slugify.js', content: SLUGIFY_BUGGY } },
    { write: { path: 'test/slugify.test.js', content: SLUGIFY_TESTS } },
    { write: { path: KEY_FILE, content: `AWS_ACCESS_KEY_ID=${PLANTED_KEY}\n` } },
    { bash: `git add -A && git commit -q -m "${FEATURE_MESSAGE}"`, expect: { exitCode: 0 } },
    { bash: `git rm -q ${KEY_FILE} && git commit -q -m "${KEY_REMOVAL_MESSAGE}"`, expect: { exitCode: 0 } },
    { bash: 'git rev-parse HEAD~1 HEAD', expect: { exitCode: 0 } },
    {
      mcp: {
        tool: 'submit_result',
        input: (context: StepContext) => {
          const [feature, removal] = shasOf(context.results[5]);
          return {
            status: 'done',
            summary: 'Added slugify and its tests.',
            branch: facts.branch ?? 'unknown-branch',
            commits: [
              { sha: feature ?? 'none', message: FEATURE_MESSAGE },
              { sha: removal ?? 'none', message: KEY_REMOVAL_MESSAGE },
            ],
            files_changed: ['src/slugify.js', 'test/slugify.test.js'],
          };
        },
      },
      ...recorded,
    },
    { say: 'Implemented and committed.' },
  ];
}

function fixScript(facts: PromptFacts): AgentStep[] {
  return [
    // The fix round's task carries the failing test's findings.
    { mcp: { tool: 'read_task', input: {} }, expect: { outputIncludes: FAILING_TEST } },
    { read: 'src/slugify.js', expect: { outputIncludes: 'split' } },
    { write: { path: 'src/slugify.js', content: SLUGIFY_FIXED } },
    { bash: 'node --test', expect: { exitCode: 0 } },
    { bash: `git add -A && git commit -q -m "${FIX_MESSAGE}"`, expect: { exitCode: 0 } },
    { bash: 'git rev-parse HEAD', expect: { exitCode: 0 } },
    {
      mcp: {
        tool: 'submit_result',
        input: (context: StepContext) => ({
          status: 'done',
          summary: 'slugify now drops punctuation; the tests pass.',
          branch: facts.branch ?? 'unknown-branch',
          commits: [{ sha: shasOf(context.results[5])[0] ?? 'none', message: FIX_MESSAGE }],
          files_changed: ['src/slugify.js'],
          root_cause: 'Punctuation was never removed before splitting into words.',
          tests_run: { command: 'node --test', passed: context.results[3]?.exitCode === 0 },
        }),
      },
      ...recorded,
    },
    { say: 'Fixed.' },
  ];
}

function testerScript(): AgentStep[] {
  return [
    { bash: 'node --test' },
    {
      mcp: {
        tool: 'submit_result',
        input: (context: StepContext) => ({
          status: 'done',
          summary: 'Ran the suite with node --test.',
          ...nodeTestReport(context.results[0]),
        }),
      },
      ...recorded,
    },
    { say: 'Tested.' },
  ];
}

function reviewerScript(): AgentStep[] {
  return [
    { bash: 'git log --format=%s', expect: { exitCode: 0, outputIncludes: FEATURE_MESSAGE } },
    {
      mcp: {
        tool: 'submit_result',
        input: { status: 'done', summary: 'Small, clear change with tests.', verdict: 'approve', findings: [] },
      },
      ...recorded,
    },
    { say: 'Approved.' },
  ];
}

function securityScript(): AgentStep[] {
  return [
    {
      mcp: {
        tool: 'submit_result',
        input: { status: 'done', summary: 'No input reaches a shell or a query.', verdict: 'pass', findings: [] },
      },
      ...recorded,
    },
    { say: 'Clean.' },
  ];
}

// The retry path's builder: the first attempt writes a file and then the model hangs; the retry (which sees the
// previous attempt's transcript) finds the WIP commit, adds a test, commits and submits.
const RETRY_TITLE = 'Greeting helper';
const RETRY_MARKER = 'transcript of the previous attempt';
const GREET = 'export function greet(name) {\n  return `Hello, ${name}!`;\n}\n';
const GREET_TEST =
  "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { greet } from '../src/greet.js';\n\ntest('greet', () => assert.equal(greet('Ada'), 'Hello, Ada!'));\n";
const RETRY_MESSAGE = 'Test the greeting';

function stallingBuilderScript(): AgentStep[] {
  return [{ write: { path: 'src/greet.js', content: GREET } }, { stall: true }];
}

function recoveringBuilderScript(facts: PromptFacts): AgentStep[] {
  return [
    { bash: 'git log --format=%s -n 5', expect: { exitCode: 0, outputIncludes: 'WIP: implement_feature' } },
    { bash: 'cat src/greet.js', expect: { exitCode: 0, outputIncludes: 'export function greet' } },
    { write: { path: 'test/greet.test.js', content: GREET_TEST } },
    { bash: `git add -A && git commit -q -m "${RETRY_MESSAGE}"`, expect: { exitCode: 0 } },
    { bash: 'git rev-parse HEAD', expect: { exitCode: 0 } },
    {
      mcp: {
        tool: 'submit_result',
        input: (context: StepContext) => ({
          status: 'done',
          summary: 'The greeting was saved by the last attempt; added its test.',
          branch: facts.branch ?? 'unknown-branch',
          commits: [{ sha: shasOf(context.results[4])[0] ?? 'none', message: RETRY_MESSAGE }],
          files_changed: ['src/greet.js', 'test/greet.test.js'],
        }),
      },
      ...recorded,
    },
    { say: 'Done after the retry.' },
  ];
}

const agents = new ScriptedAgents((prompt, facts) => {
  switch (facts.taskType) {
    case 'create_user_story':
      return pmScript();
    case 'write_spec':
      return architectScript();
    case 'implement_feature':
      if (prompt.includes(RETRY_TITLE)) {
        return prompt.includes(RETRY_MARKER) ? recoveringBuilderScript(facts) : stallingBuilderScript();
      }
      return featureScript(facts);
    case 'implement_fix':
      return fixScript(facts);
    case 'run_tests':
      return testerScript();
    case 'review_mr':
      return reviewerScript();
    case 'security_scan':
      return securityScript();
    default:
      throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
  }
});

let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Driving and checking a story.

/** What each finished story left on its default branch (`git log -p main`), for the last test of the file. */
const defaultBranchHistories: { story: string; log: string }[] = [];

interface Decided {
  kind: string;
  body: string;
}

/**
 * Follows the story until it completes, deciding each pending approval as a human would (approvals API, actor
 * `cli:<user>`). Fails at once, with the reason, when a task attempt fails or the story waits for a human.
 */
async function driveStory(t: TestDatabase, runtime: RealCliRuntime, workflowId: number, timeoutMs: number) {
  const db = t.handle.db;
  const deps = workflowDeps(runtime.queue, runtime.deps.settings.workflow.max_fix_rounds);
  const decided: Decided[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const workflow = await db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', workflowId)
      .executeTakeFirstOrThrow();
    if (workflow.status === 'completed') return decided;
    const state = JSON.parse(workflow.state) as StoryState;
    if (workflow.status === 'waiting_for_human') throw new Error(`the story waits for a human: ${state.humanSummary}`);
    const taskIds = (await db.selectFrom('tasks').select('id').where('workflow_id', '=', workflowId).execute()).map(
      (task) => String(task.id),
    );
    const failed =
      taskIds.length === 0
        ? []
        : await db
            .selectFrom('events')
            .select(['kind', 'subject_id', 'data'])
            .where('subject_type', '=', 'task')
            .where('subject_id', 'in', taskIds)
            .where('kind', 'in', ['task.retry_scheduled', 'task.failed'])
            .execute();
    if (failed.length > 0) throw new Error(`a task attempt failed: ${JSON.stringify(failed)}`);
    const pending = await db
      .selectFrom('approvals')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .where('status', '=', 'pending')
      .orderBy('id')
      .execute();
    for (const approval of pending) {
      decided.push({ kind: approval.kind, body: approval.body ?? '' });
      await decideApproval(db, deps, {
        id: approval.id,
        decision: 'approved',
        reason: `looks right (${approval.kind})`,
        actor: HUMAN,
      });
    }
    if (Date.now() > deadline) {
      throw new Error(`the story did not finish in ${timeoutMs} ms; it is at stage ${workflow.stage}`);
    }
    await sleep(100);
  }
}

function taskResult<T = Record<string, unknown>>(task: { result: string | null }): T {
  return JSON.parse(task.result ?? '{}') as T;
}

/** Stops what a test started (supervisor, CLIs it left), waits for every process under its root to be gone. */
async function stopAll(supervisors: AgentSupervisor[], runtimes: RealCliRuntime[]) {
  for (const supervisor of supervisors.splice(0)) await supervisor.stop();
  for (const runtime of runtimes.splice(0)) {
    const left = () => processesMentioning(runtime.root);
    try {
      await waitFor(
        async () => `no process under ${runtime.root}; left: ${left().join('; ')}`,
        () => left().length === 0,
        10_000,
      );
    } finally {
      for (const line of left()) {
        const pid = Number(line.split(':')[0]);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await runtime.close();
    }
  }
}

/**
 * Which CLI runs which test on which engine: each CLI runs a whole story on one engine and the stalled retry on the
 * other, so every CLI and every engine runs both tests once (with one engine under test, it runs all four).
 */
function providersFor(dialect: DialectName, test: 'story' | 'stall'): LlmProviderName[] {
  if (DIALECTS.length < 2) return [...REAL_CLI_PROVIDERS];
  const story = REAL_CLI_PROVIDERS[DIALECTS.indexOf(dialect) % REAL_CLI_PROVIDERS.length]!;
  return test === 'story' ? [story] : REAL_CLI_PROVIDERS.filter((provider) => provider !== story);
}

describe.each(DIALECTS)('%s: a whole story on the real agent CLIs, against a stand-in model', (dialect) => {
  const t = useTestDatabase(dialect);
  const runtimes: RealCliRuntime[] = [];
  const supervisors: AgentSupervisor[] = [];
  afterEach(async () => {
    await stopAll(supervisors, runtimes);
  });

  it.each(providersFor(dialect, 'story'))(
    `real %s CLI as every agent (supervisor, bubblewrap ${AS_USER}, MCP tools), stand-in model: PM to deploy, a real failing test fixed in a fix round, approvals decided through the API, merged by the local forge and deployed`,
    async (provider: LlmProviderName) => {
      const started = Date.now();
      const runtime = realCliRuntime(t.handle, standIns, provider, {
        watcher: { max_session_duration: 120, restart_delay: 0.2 },
      });
      runtimes.push(runtime);
      const db = t.handle.db;
      const project = makeProject(runtime.root, 'text-kit');
      await addRepository(
        db,
        {
          path: project.path,
          name: 'text-kit',
          testCommand: 'node --test',
          deployCommand: DEPLOY_COMMAND,
          actor: HUMAN,
          now: Date.now(),
        },
        runtime.root,
      );
      const deps = workflowDeps(runtime.queue, runtime.deps.settings.workflow.max_fix_rounds);
      const story = await createStory(db, deps, {
        repo: 'text-kit',
        title: STORY_TITLE,
        body: 'Blog titles need URL slugs.',
        actor: HUMAN,
      });
      supervisors.push(
        await startAgents({
          queue: runtime.queue,
          settings: runtime.deps.settings,
          dataDir: runtime.dataDir,
          logger: runtime.deps.logger,
          env: runtime.deps.env,
          roles: ROLES,
          workers: { workersPerRole: 1, idleWaitMs: 100 },
        }),
      );

      const decided = await driveStory(t, runtime, story.id, 360_000);
      const wallMs = Date.now() - started;

      // The story is done, deployed by the configured command.
      const workflow = await db
        .selectFrom('workflows')
        .selectAll()
        .where('id', '=', story.id)
        .executeTakeFirstOrThrow();
      const state = JSON.parse(workflow.state) as StoryState;
      expect(workflow).toMatchObject({ status: 'completed', stage: 'done', fix_rounds: 1 });
      expect(state.deployment?.outcome).toBe('succeeded');
      expect(decided.map((d) => d.kind)).toEqual(['spec', 'merge']);
      expect(decided[0]!.body).toContain(SPEC_MARKDOWN);

      // One task per step and round, each done in one attempt.
      const tasks = await db
        .selectFrom('tasks')
        .selectAll()
        .where('workflow_id', '=', story.id)
        .orderBy('id')
        .execute();
      const byType = (type: string) => tasks.filter((task) => task.type === type);
      expect(tasks.map((task) => task.type).sort()).toEqual(
        [
          'create_user_story',
          'write_spec',
          'implement_feature',
          ...['review_mr', 'run_tests', 'security_scan'],
          'implement_fix',
          ...['review_mr', 'run_tests', 'security_scan'],
          'merge',
          'deploy',
        ].sort(),
      );
      for (const task of tasks)
        expect(task, `task ${task.id} ${task.type}`).toMatchObject({ status: 'completed', attempts: 1 });

      // The test gate really ran the repository's tests: round 0 failed on the real bug, round 1 passed.
      const testRuns = byType('run_tests').map((task) =>
        taskResult<{ gates: { tests: Record<string, unknown> } }>(task),
      );
      expect(testRuns[0]!.gates.tests).toMatchObject({ command: 'node --test', passed: false });
      expect(String(testRuns[0]!.gates.tests.output_tail)).toContain(FAILING_TEST);
      expect(testRuns[1]!.gates.tests).toMatchObject({ command: 'node --test', passed: true });
      const fixTask = byType('implement_fix')[0]!;
      expect(JSON.stringify(JSON.parse(fixTask.payload).findings)).toContain(FAILING_TEST);
      // The security gate's secret scan ran on both rounds' branches.
      for (const scan of byType('security_scan')) {
        expect(taskResult<{ gates: Record<string, unknown> }>(scan).gates).toHaveProperty('secret_scan');
      }

      // The agent's own commits: the feature (which planted the key), the key's removal, and the fix continuing them.
      type Implementation = { branch: string; head_commit: string; commits: { sha: string; message: string }[] };
      const feature = taskResult<Implementation>(byType('implement_feature')[0]!);
      const fix = taskResult<Implementation>(fixTask);
      expect(feature.commits.map((c) => c.message)).toEqual([FEATURE_MESSAGE, KEY_REMOVAL_MESSAGE]);
      expect(fix.commits.map((c) => c.message)).toEqual([FIX_MESSAGE]);
      const repo = project.path;
      expect(gitIn(repo, 'log', '-1', '--format=%s', feature.commits[0]!.sha)).toBe(FEATURE_MESSAGE);
      expect(gitIn(repo, 'show', `${feature.commits[0]!.sha}:${KEY_FILE}`)).toContain(PLANTED_KEY);
      expect(gitIn(repo, 'log', '-1', '--format=%s', fix.commits[0]!.sha)).toBe(FIX_MESSAGE);
      expect(gitIn(repo, 'merge-base', '--is-ancestor', feature.head_commit, fix.head_commit)).toBe('');
      expect(fix.branch).not.toBe(feature.branch);

      // The local forge's merge: the default branch moved to it, on top of where it was, with the fixed tree.
      const merged = await db.selectFrom('merge_requests').selectAll().where('workflow_id', '=', story.id).execute();
      expect(merged).toHaveLength(1);
      const mr = merged[0]!;
      expect(mr).toMatchObject({ status: 'merged', source_branch: fix.branch, target_branch: 'main' });
      expect(gitIn(repo, 'rev-parse', 'main')).toBe(mr.merge_sha);
      expect(gitIn(repo, 'rev-parse', `${mr.merge_sha}^1`)).toBe(project.initialCommit);
      expect(gitIn(repo, 'log', '-1', '--format=%B', mr.merge_sha!)).toContain(`merge request ${mr.id}`);
      expect(gitIn(repo, 'rev-parse', `${mr.merge_sha}^{tree}`)).toBe(
        gitIn(repo, 'rev-parse', `${fix.head_commit}^{tree}`),
      );
      expect(gitIn(repo, 'show', `main:src/slugify.js`)).toBe(SLUGIFY_FIXED.trimEnd());
      // The repository's clean checkout of main was fast-forwarded to the merge.
      expect(gitIn(repo, 'rev-parse', 'HEAD')).toBe(mr.merge_sha);
      expect(gitIn(repo, 'status', '--porcelain')).toBe('');

      // The default branch's history holds the agent's commit messages, and no WIP save (every commit of the agent
      // worked inside the sandbox). Every author on main is the maintainer, Auto-Dev (the merge) or the identity the
      // commit model gave a builder's clone: nothing was committed by whoever the sandbox happened to run as.
      const messages = gitIn(repo, 'log', '--format=%B', 'main');
      expect(messages).toContain(FEATURE_MESSAGE);
      expect(messages).toContain(FIX_MESSAGE);
      const featureTaskId = byType('implement_feature')[0]!.id;
      const agentAuthors = [featureTaskId, fixTask.id].map((id) => `Auto-Dev agent (task ${id})`);
      const authors = new Set(gitIn(repo, 'log', '--format=%an', 'main').split('\n'));
      expect([...authors].filter((a) => !['Maintainer', 'Auto-Dev', ...agentAuthors].includes(a))).toEqual([]);
      expect(
        gitIn(repo, 'log', '--format=%s', 'main')
          .split('\n')
          .filter((s) => s.startsWith('WIP:')),
      ).toEqual([]);
      const mergeParents = gitIn(repo, 'rev-list', '--parents', '-n', '1', mr.merge_sha!).split(' ').slice(1);
      if (mergeParents.length === 2) {
        // A merge commit: the agent's own commits are on main as it made them, with its identity.
        expect(mergeParents).toEqual([project.initialCommit, fix.head_commit]);
        for (const [commit, author] of [
          [feature.commits[0]!.sha, agentAuthors[0]],
          [fix.commits[0]!.sha, agentAuthors[1]],
        ] as const) {
          expect(gitIn(repo, 'merge-base', '--is-ancestor', commit, 'main')).toBe('');
          expect(gitIn(repo, 'log', '-1', '--format=%an', commit)).toBe(author);
        }
      } else {
        // A squash (a branch whose history once held a secret): one commit on top of main whose message carries
        // the agent's messages (checked above).
        expect(mergeParents).toEqual([project.initialCommit]);
      }

      // The deployment ran the deploy command on the merged commit.
      const deploy = taskResult<{
        outcome: string;
        version: string;
        deploy: { output_tail: string; exit_code: number };
      }>(byType('deploy')[0]!);
      expect(deploy).toMatchObject({ outcome: 'succeeded', version: mr.merge_sha, deploy: { exit_code: 0 } });
      expect(deploy.deploy.output_tail).toContain('deployed text-kit 1.0.0');

      // The tests pass on main, in a (sandboxed) checkout of it.
      const onMain = await runTestGate({
        repoPath: repo,
        ref: 'main',
        command: 'node --test',
        mode: 'bubblewrap',
        timeoutMs: 60_000,
        env: runtime.deps.env,
        hiddenPaths: defaultHiddenPaths({ home: runtime.home, dataDir: runtime.dataDir }),
      });
      expect(onMain, onMain.outputTail).toMatchObject({ passed: true, counts: { passed: 4, failed: 0 } });

      // Every session ran on the real CLI against the stand-in, succeeded, used tokens, and played its script cleanly.
      const sessions = await db
        .selectFrom('sessions')
        .selectAll()
        .where(
          'task_id',
          'in',
          tasks.map((task) => task.id),
        )
        .orderBy('id')
        .execute();
      // The deterministic steps (merge, deploy) run no session; every other task ran exactly one.
      expect(sessions).toHaveLength(tasks.filter((task) => !['merge', 'deploy'].includes(task.type)).length);
      const seenRoles = new Set<string>();
      for (const session of sessions) {
        const what = `session ${session.id} (${session.role}, task ${session.task_id})`;
        expect(session, what).toMatchObject({ status: 'succeeded', provider });
        expect(session.tokens_in + session.tokens_out, what).toBeGreaterThan(0);
        const played = agents.session(provider, session.provider_session_id);
        expect(played, `${what}: the stand-in never saw it`).toBeDefined();
        expect(agents.failuresOf(provider, session.provider_session_id), what).toEqual([]);
        seenRoles.add(played!.facts.roleTitle ?? '?');
        console.log(sessionTimeSplit(agents, session));
      }
      expect([...seenRoles].sort()).toEqual([
        'Architect',
        'Builder',
        'Product Manager',
        'Reviewer',
        'Security',
        'Tester',
      ]);

      defaultBranchHistories.push({ story: `${dialect}/${provider}`, log: gitIn(repo, 'log', '-p', 'main') });
      console.log(`${dialect}/${provider}: story PM to deploy in ${wallMs} ms wall (${sessions.length} sessions)`);
    },
  );

  it.each(providersFor(dialect, 'stall'))(
    `real %s CLI builder, stand-in model that stalls: the watcher's time limit kills the session, its file is saved as a WIP commit, the CLI home is wiped, and the retry starts fresh with the previous transcript and completes`,
    async (provider: LlmProviderName) => {
      const started = Date.now();
      // The stalled attempt needs only the time to start and write its file (2-5 s seen under load); the retry then
      // gets a limit it cannot reach.
      const runtime = realCliRuntime(t.handle, standIns, provider, {
        watcher: { max_session_duration: 10 },
        queue: { retry_base_seconds: 1, retry_max_seconds: 1 },
      });
      runtimes.push(runtime);
      const db = t.handle.db;
      const project = makeProject(runtime.root, 'greeter');
      const repoId = await registerRepo(db, { name: 'greeter', location: project.path });
      const task = await runtime.queue.enqueue({
        type: 'implement_feature',
        payload: { title: RETRY_TITLE, story: 'Greet people by name.' },
        repoId,
        createdBy: 'test',
      });

      // Attempt 1: the model hangs after the Write; the time limit kills the session.
      await runAttempts(runtime, 'builder', [task.id], { timeoutMs: 90_000 });
      const [lost] = await db.selectFrom('sessions').selectAll().where('task_id', '=', task.id).execute();
      const afterFirst = await settleEvents(db, task.id);
      expect(afterFirst.map((e) => e.kind)).toEqual(['task.retry_scheduled']);
      expect(JSON.parse(afterFirst[0]!.data)).toMatchObject({ error: expect.stringContaining('session time limit') });
      expect(lost).toMatchObject({ status: 'aborted', provider });
      expect(lost!.provider_session_id).toBeTruthy();
      expect(agents.session(provider, lost!.provider_session_id)?.turns.at(-1)?.answered).toBe('stall');
      // The file it never committed is on the task branch, in a commit that says what it is.
      const branch = gitIn(
        project.path,
        'for-each-ref',
        '--format=%(refname:short)',
        `refs/heads/autodev/${task.id}-*`,
      );
      expect(gitIn(project.path, 'log', '-1', '--format=%s', branch)).toMatch(
        /^WIP: implement_feature task \d+: work uncommitted when the session was aborted/,
      );
      expect(gitIn(project.path, 'show', `${branch}:src/greet.js`)).toBe(GREET.trimEnd());

      // The CLI's state of that attempt is gone (a wiped home, another machine).
      const home = path.join(runtime.dataDir, 'sessions', String(lost!.id), 'home');
      // It held the lost conversation (a retry would have resumed it), until it is wiped.
      const held = fs
        .readdirSync(home, { recursive: true, encoding: 'utf8' })
        .filter((file) => file.includes(lost!.provider_session_id!));
      expect(held, `the CLI's conversation file in ${home}`).not.toEqual([]);
      fs.rmSync(home, { recursive: true, force: true });

      // Attempt 2: a fresh conversation whose prompt carries the end of the lost attempt's transcript.
      runtime.deps.settings.watcher.max_session_duration = 120;
      await runAttempts(runtime, 'builder', [task.id], { settled: 2, timeoutMs: 90_000 });
      const done = await runtime.queue.get(task.id);
      const sessions = await db
        .selectFrom('sessions')
        .selectAll()
        .where('task_id', '=', task.id)
        .orderBy('id')
        .execute();
      const retry = sessions[1]!;
      const played = agents.session(provider, retry.provider_session_id);
      const diagnosis = JSON.stringify(
        { error: done.error, sessions, failures: agents.failuresOf(provider, retry.provider_session_id) },
        null,
        1,
      );
      expect(done.status, diagnosis).toBe('completed');
      expect(sessions).toHaveLength(2);
      expect(retry, diagnosis).toMatchObject({ status: 'succeeded', provider });
      expect(retry.provider_session_id).not.toBe(lost!.provider_session_id);
      expect(played, diagnosis).toBeDefined();
      expect(played!.firstResults, 'the retry resumed a conversation instead of starting fresh').toBe(0);
      expect(played!.prompt).toContain(RETRY_MARKER);
      expect(played!.prompt).toContain('greet.js');
      expect(agents.failuresOf(provider, retry.provider_session_id), diagnosis).toEqual([]);

      // The branch holds the saved WIP commit and the retry's own commit on top of it.
      const result = done.result as { branch: string; commits: { sha: string; message: string }[] };
      expect(result.branch).toBe(branch);
      const log = gitIn(project.path, 'log', '--format=%s', branch).split('\n');
      expect(log[0]).toBe(RETRY_MESSAGE);
      expect(log[1]).toMatch(/^WIP: implement_feature task \d+: work uncommitted when the session was aborted/);
      expect(gitIn(project.path, 'rev-parse', branch)).toBe(result.commits[0]!.sha);
      console.log(`${dialect}/${provider}: stalled attempt + fresh retry in ${Date.now() - started} ms wall`);
      console.log(sessionTimeSplit(agents, retry));
    },
  );
});

describe('secrets never reach the default branch', () => {
  it('no story default-branch history (git log -p main) holds the AWS key the builder committed and then removed', () => {
    expect(defaultBranchHistories.length, 'no story ran to the end in this file').toBeGreaterThan(0);
    for (const { story, log } of defaultBranchHistories) {
      // A boolean, so a failure names the story without printing the whole history.
      expect(log.includes(PLANTED_KEY), `${story}: \`git log -p main\` holds the planted key`).toBe(false);
    }
  });
});
