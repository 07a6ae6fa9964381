/**
 * @module Fixtures for the pipeline tests: a real git repository with a tiny `node --test` suite, story results, and
 * `completeWithGates`, which checks the result against its task type's contract and finishes a claimed workflow task the way the agent runtime does: the task's
 * deterministic gate (`runTaskGates`: real test command, secret scan, lint) runs first, outside any transaction, and
 * the completion carries its verdict and stores what ran under `result.gates`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { runTaskGates, type GateRunDeps } from '../../src/agents/run-gates.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import type { Task } from '../../src/queue/task-record.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import { onWorkflowTaskCompleted, type WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { git } from '../../src/workspace/git.js';
import { checkedResult } from '../support/result-fixtures.js';
import { commitAll } from '../workspace/git-fixtures.js';

export const STORY = {
  status: 'done',
  summary: 's',
  stories: [{ title: 'T', body: 'B', acceptance_criteria: ['works'] }],
};
export const SPEC = {
  status: 'done',
  summary: 's',
  spec_markdown: '# Spec',
  files_to_touch: ['sum.mjs'],
  test_plan: 't',
  risks: [],
};
export const REVIEW_OK = { status: 'done', summary: 's', verdict: 'approve', findings: [] };
/** What an LLM tester claims: everything passes (the real run decides). */
export const TESTS_CLAIMED_OK = {
  status: 'done',
  summary: 's',
  command: 'npm test',
  passed: 2,
  failed: 0,
  skipped: 0,
  failures: [],
};
export const SEC_OK = { status: 'done', summary: 's', verdict: 'pass', findings: [] };

export const implementation = (branch: string, sha: string, files = ['sum.mjs']) => ({
  status: 'done',
  summary: 's',
  branch,
  commits: [{ sha, message: 'm' }],
  files_changed: files,
});

/** The repository's test command: the `node --test` suite under test/ (node by absolute path: the sandbox's PATH). */
export const NODE_TEST_COMMAND = `${process.execPath} --test --test-reporter=tap test/`;

const SUM_TEST =
  "import test from 'node:test';\nimport assert from 'node:assert';\nimport { sum } from '../sum.mjs';\n" +
  "test('adds', () => assert.equal(sum(1, 2), 3));\ntest('adds negatives', () => assert.equal(sum(-1, -2), -3));\n";

/** Creates `branch` from `from` with `files` committed, and goes back to main; returns the commit. */
export async function branchWithFiles(
  repo: string,
  branch: string,
  from: string,
  files: Record<string, string>,
): Promise<string> {
  await git(repo, ['checkout', '--quiet', '-b', branch, from]);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(repo, file, '..'), { recursive: true });
    await writeFile(join(repo, file), content);
  }
  const sha = await commitAll(repo, `change on ${branch}`);
  await git(repo, ['checkout', '--quiet', 'main']);
  return sha;
}

/** The builder's feature branch: `sum` and its tests, with a bug when `buggy`. */
export function sumFeature(repo: string, branch: string, buggy: boolean, from = 'main'): Promise<string> {
  return branchWithFiles(repo, branch, from, {
    'sum.mjs': `export function sum(a, b) {\n  return ${buggy ? 'a - b' : 'a + b'};\n}\n`,
    'test/sum.test.mjs': SUM_TEST,
  });
}

/** Gate dependencies as the agent runtime builds them, sandboxed with bubblewrap. */
export function gateDeps(queue: TaskQueue, hiddenPaths: string[] = []): GateRunDeps {
  return {
    db: queue.handle.db,
    sandboxMode: 'bubblewrap',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    hiddenPaths,
    timeoutMs: 60_000,
  };
}

/**
 * Claims the one pending task of `type`, runs its deterministic gate before the completing transaction (as the agent
 * runtime does), and completes it with the workflow step in one transaction. Returns the claimed task.
 */
export async function completeWithGates(
  queue: TaskQueue,
  deps: WorkflowDeps,
  gates: GateRunDeps,
  type: string,
  result: Record<string, unknown>,
): Promise<Task> {
  checkedResult(type, result);
  const task = await queue.claim('w1', [type]);
  if (!task) throw new Error(`no pending ${type} task`);
  const gate = await runTaskGates(gates, task);
  const stored = gate
    ? { ...result, gates: { ...gate.record, ...(gate.verdict ? { verdict: gate.verdict } : {}) } }
    : result;
  await queue.handle.db.transaction().execute(async (tx) => {
    await queue.complete({ taskId: task.id, workerId: 'w1' }, stored, tx);
    await onWorkflowTaskCompleted(tx, deps, task, stored, 'w1', gate?.verdict);
  });
  return task;
}

/** Agent runtime dependencies for handlers that run no LLM session (the deterministic deploy). */
export function runtimeDeps(
  queue: TaskQueue,
  dataDir: string,
  env: Record<string, string | undefined>,
  maxFixRounds = 3,
): AgentRuntimeDeps {
  return {
    queue,
    settings: SettingsSchema.parse({ sandbox: { mode: 'bubblewrap' }, workflow: { max_fix_rounds: maxFixRounds } }),
    dataDir,
    logger: pino({ level: 'silent' }),
    env,
    createProvider: () => {
      throw new Error('no LLM session expected');
    },
    cliEntry: '/nonexistent',
  };
}
