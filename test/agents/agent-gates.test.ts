/**
 * @module The gates inside the real agent runtime, on both engines: a tester session (the fake Claude Code CLI
 * replaying a recording, sandboxed) whose agent claims all green, while its handler runs the repository's REAL test
 * command on the builder's branch before completing: the run is stored in the result and its failing verdict reaches
 * the workflow, which starts `implement_fix`. The fixing builder's branch continues the feature branch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { settingsProviderFactory } from '../../src/agents/provider-factory.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TASK_TYPES_BY_ROLE, type Role } from '../../src/domain/roles.js';
import { addRepository } from '../../src/forge/repositories.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import {
  agentSettings,
  autodevCliEntry,
  gitIn,
  settleEvents,
  waitFor,
  type FakeSession,
} from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import {
  NODE_TEST_COMMAND,
  REVIEW_OK,
  SEC_OK,
  SPEC,
  STORY,
  TESTS_CLAIMED_OK,
  implementation,
  sumFeature,
} from '../workflow/pipeline-fixtures.js';

vi.setConfig({ testTimeout: 90_000 });

let cliEntry: string;
beforeAll(() => {
  cliEntry = autodevCliEntry();
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function harness(t: TestDatabase, claude: FakeSession) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-agent-gates-'));
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const settings = agentSettings({ claude });
  const queue = new TaskQueue(t.handle, queueSettingsFrom(settings));
  cleanups.push(async () => {
    await queue.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const deps: AgentRuntimeDeps = {
    queue,
    settings,
    dataDir,
    logger: pino({ level: 'silent' }),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(root, 'home') },
    createProvider: settingsProviderFactory({ settings }),
    cliEntry,
  };
  return { queue, deps };
}

async function runOne(deps: AgentRuntimeDeps, role: Role, taskId: number) {
  const stop = new AbortController();
  const errors: unknown[] = [];
  const loop = runWorker({
    queue: deps.queue,
    workerId: `${role}-1`,
    types: TASK_TYPES_BY_ROLE[role],
    handler: createAgentTaskHandler(deps, role),
    signal: stop.signal,
    idleWaitMs: 50,
    onError: (error) => errors.push(error),
  });
  try {
    await waitFor(
      `task ${taskId} to settle`,
      async () => (await settleEvents(deps.queue.handle.db, taskId)).length > 0,
      60_000,
    );
  } finally {
    stop.abort();
    await loop;
  }
  expect(errors).toEqual([]);
  return deps.queue.get(taskId);
}

describe.each(DIALECTS)('%s: gates in the agent runtime', (dialect) => {
  const t = useTestDatabase(dialect);

  it('the tester’s handler runs the real test command before completing; its failure overrules the agent and starts a fix on the feature branch', async () => {
    const fixture: TestRepo = await makeRepo();
    cleanups.push(() => fixture.cleanup());
    const repo = await addRepository(
      t.handle.db,
      { path: fixture.repo, name: 'calc', testCommand: NODE_TEST_COMMAND, actor: 'test', now: Date.now() },
      '/',
    );
    const featureSha = await sumFeature(fixture.repo, 'autodev/1-add-sum', true);
    const { queue, deps } = harness(t, {
      recording: 'stream-json-tool-success.jsonl',
      submit: { ...TESTS_CLAIMED_OK, summary: 'All green, trust me (task {{task_id}}).' },
    });
    const flow = workflowDeps(queue, 3);
    const wf = await startStoryWorkflow(t.handle.db, flow, {
      title: 'Add sum',
      body: 'b',
      repoId: repo.id,
      createdBy: 't',
    });
    const byHand = async (type: string, result: unknown) => {
      const task = await queue.claim('hand', [type]);
      await t.handle.db.transaction().execute(async (tx) => {
        await queue.complete({ taskId: task!.id, workerId: 'hand' }, result, tx);
        await onWorkflowTaskCompleted(tx, flow, task!, result, 'hand');
      });
    };
    await byHand('create_user_story', STORY);
    await byHand('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, flow, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    await byHand('implement_feature', implementation('autodev/1-add-sum', featureSha));
    await byHand('review_mr', REVIEW_OK);
    await byHand('security_scan', SEC_OK);

    const tester = await t.handle.db
      .selectFrom('tasks')
      .select('id')
      .where('type', '=', 'run_tests')
      .executeTakeFirstOrThrow();
    const done = await runOne(deps, 'tester', tester.id);
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({
      failed: 0,
      summary: `All green, trust me (task ${tester.id}).`,
      gates: {
        tests: {
          command: NODE_TEST_COMMAND,
          commit: featureSha,
          passed: false,
          exit_code: 1,
          counts: { runner: 'node', passed: 0, failed: 2 },
        },
        verdict: { passed: false },
      },
    });
    const row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ stage: 'implement', fix_rounds: 1 });
    const fix = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'implement_fix')
      .executeTakeFirstOrThrow();
    const payload = JSON.parse(fix.payload) as { branch: string; findings: string[] };
    expect(payload.branch).toBe('autodev/1-add-sum');
    // The failing tests by name and message first, then the run's counts with a short tail.
    expect(payload.findings.slice(0, 2)).toEqual(['tests: adds: -1 == 3', 'tests: adds negatives: 1 == -3']);
    expect(payload.findings[2]).toContain('2 failed, 0 passed (exit 1)');

    // The fixing builder's session: its new branch starts from the feature branch, so the fix continues the work.
    const builder = harness(t, {
      recording: 'stream-json-tool-success.jsonl',
      write: { 'sum.mjs': 'export function sum(a, b) {\n  return a + b;\n}\n' },
      submit: {
        status: 'done',
        summary: 'Fixed the sign.',
        branch: '{{branch}}',
        commits: [{ sha: '0000000', message: 'fix' }],
        files_changed: ['sum.mjs'],
      },
    });
    const fixed = await runOne(builder.deps, 'builder', fix.id);
    expect(fixed.status).toBe('completed');
    const fixBranch = (fixed.result as { branch: string }).branch;
    expect(gitIn(fixture.repo, 'rev-parse', `${fixBranch}~1`)).toBe(featureSha);
    expect(gitIn(fixture.repo, 'show', `${fixBranch}:sum.mjs`)).toContain('a + b');
    expect(gitIn(fixture.repo, 'show', `${fixBranch}:test/sum.test.mjs`)).toContain("test('adds'");
  });
});
