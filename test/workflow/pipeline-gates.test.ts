/**
 * @module The pipeline's real gates on both engines, on a real git repository: the tester's run of a REAL test
 * command (a `node --test` suite) failing and fixed in one round, a reviewer requesting changes, a failing lint
 * command, and the merge through the local forge onto main. Gates run before the completing transaction, as the
 * agent runtime runs them (`completeWithGates`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GateRunDeps } from '../../src/agents/run-gates.js';
import { addRepository, type RepositoryRow } from '../../src/forge/repositories.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { startStoryWorkflow, type WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { fileAt, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import {
  NODE_TEST_COMMAND,
  REVIEW_OK,
  SEC_OK,
  SPEC,
  STORY,
  TESTS_CLAIMED_OK,
  branchWithFiles,
  completeWithGates,
  gateDeps,
  implementation,
  sumFeature,
} from './pipeline-fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

describe.each(DIALECTS)('%s: the pipeline with real gates', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let gates: GateRunDeps;

  beforeEach(async () => {
    fixture = await makeRepo();
    queue = new TaskQueue(t.handle);
    deps = workflowDeps(queue, 3);
    gates = gateDeps(queue);
  });
  afterEach(async () => {
    await queue.close();
    await fixture.cleanup();
  });

  const complete = (type: string, result: Record<string, unknown>) =>
    completeWithGates(queue, deps, gates, type, result);
  const workflow = (id: number) =>
    t.handle.db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const taskResult = async (id: number) =>
    JSON.parse(
      (await t.handle.db.selectFrom('tasks').select('result').where('id', '=', id).executeTakeFirstOrThrow()).result!,
    ) as { gates: Record<string, { output_tail: string; duration_ms: number }> };
  const pendingMerge = async () =>
    (await listApprovals(t.handle.db, { status: 'pending' })).filter((a) => a.kind === 'merge');

  async function register(options: { lintCommand?: string } = {}): Promise<RepositoryRow> {
    return addRepository(
      t.handle.db,
      { path: fixture.repo, testCommand: NODE_TEST_COMMAND, actor: 'test', now: Date.now(), ...options },
      '/',
    );
  }

  /** Story -> spec -> approved -> the builder's branch; returns the workflow id. */
  async function toGates(repo: RepositoryRow, branch: string, sha: string): Promise<number> {
    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Add sum',
      body: 'b',
      repoId: repo.id,
      createdBy: 'cli',
    });
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    await complete('implement_feature', implementation(branch, sha));
    return wf.id;
  }

  /** One round of gates: the reviewer and security agents pass, the tester's claim is overruled by the real run. */
  async function gateRound() {
    await complete('review_mr', REVIEW_OK);
    const tester = await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    return (await taskResult(tester.id)).gates.tests!;
  }

  it('fails the test gate on a real failing run whatever the tester claims, and passes it after one fix round', async () => {
    const repo = await register();
    const featureSha = await sumFeature(fixture.repo, 'autodev/1-add-sum', true);
    const wf = await toGates(repo, 'autodev/1-add-sum', featureSha);

    await complete('review_mr', REVIEW_OK);
    // The LLM tester claims all green; the real run of the repository's test command says otherwise.
    const tester = await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);

    const run = (await taskResult(tester.id)).gates.tests!;
    expect(run).toMatchObject({
      command: NODE_TEST_COMMAND,
      ref: 'autodev/1-add-sum',
      commit: featureSha,
      passed: false,
      exit_code: 1,
      counts: { runner: 'node', passed: 0, failed: 2 },
      coverage: null,
    });
    expect(run.output_tail).toContain('not ok 1 - adds');
    expect(run.duration_ms).toBeGreaterThan(0);
    expect(await workflow(wf)).toMatchObject({ stage: 'implement', fix_rounds: 1 });
    expect(await pendingMerge()).toEqual([]);

    const fix = await queue.claim('w1', ['implement_fix']);
    const findings = fix!.payload.findings as string[];
    // The failing tests by name and message lead; the counts and a short tail of the output follow.
    expect(findings).toHaveLength(3);
    expect(findings.slice(0, 2)).toEqual(['tests: adds: -1 == 3', 'tests: adds negatives: 1 == -3']);
    expect(findings[2]).toContain(`tests: "${NODE_TEST_COMMAND}" 2 failed, 0 passed (exit 1)`);
    expect(findings[2]).toContain('# fail 2');
    expect(JSON.stringify(findings)).not.toMatch(/autodev-checkout-/);
    expect(fix!.payload.branch).toBe('autodev/1-add-sum');
    await queue.release({ taskId: fix!.id, workerId: 'w1' }, 'test hands it to the fixing builder');

    // The builder fixes the bug on a branch continuing the feature.
    const fixSha = await branchWithFiles(fixture.repo, 'autodev/9-add-sum', 'autodev/1-add-sum', {
      'sum.mjs': 'export function sum(a, b) {\n  return a + b;\n}\n',
    });
    await complete('implement_fix', implementation('autodev/9-add-sum', fixSha));
    await complete('review_mr', REVIEW_OK);
    const retest = await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);

    expect((await taskResult(retest.id)).gates.tests).toMatchObject({
      passed: true,
      commit: fixSha,
      counts: { passed: 2, failed: 0 },
    });
    expect(await workflow(wf)).toMatchObject({ stage: 'merge_approval', fix_rounds: 1 });
    const [merge] = await pendingMerge();
    await decideApproval(t.handle.db, deps, { id: merge!.id, decision: 'approved', actor: 'cli:alice' });
    expect((await runMergeTasks(queue, deps)).map((r) => r.outcome)).toEqual(['merged']);
    expect(await fileAt(fixture.repo, 'main', 'sum.mjs')).toContain('a + b');
    expect((await workflow(wf)).stage).toBe('deploy');
  });

  it('stops with "no progress" when a fix round changes nothing, though the two real runs’ output differs', async () => {
    const repo = await register();
    const featureSha = await sumFeature(fixture.repo, 'autodev/1-add-sum', true);
    const wf = await toGates(repo, 'autodev/1-add-sum', featureSha);
    const first = await gateRound();
    // The fix round hands back the same branch and commit: nothing changed.
    await complete('implement_fix', implementation('autodev/1-add-sum', featureSha));
    const second = await gateRound();
    // The raw output differs from run to run (durations); what it says does not.
    expect(first.output_tail).not.toBe(second.output_tail);
    const row = await workflow(wf);
    expect(row).toMatchObject({ status: 'waiting_for_human', fix_rounds: 1 });
    const state = JSON.parse(row.state) as { humanSummary: string };
    expect(state.humanSummary).toContain('No progress');
    expect(state.humanSummary).toContain('tests: adds: -1 == 3');
    expect(await queue.claim('w1', ['implement_fix'])).toBeUndefined();
  });

  it('goes on when a fix round fixes one of two failing tests', async () => {
    const repo = await register();
    const featureSha = await sumFeature(fixture.repo, 'autodev/1-add-sum', true);
    const wf = await toGates(repo, 'autodev/1-add-sum', featureSha);
    await gateRound();
    const halfSha = await branchWithFiles(fixture.repo, 'autodev/9-add-sum', 'autodev/1-add-sum', {
      'sum.mjs': 'export function sum(a, b) {\n  return Math.abs(a) + Math.abs(b);\n}\n',
    });
    await complete('implement_fix', implementation('autodev/9-add-sum', halfSha));
    await gateRound();
    expect(await workflow(wf)).toMatchObject({ status: 'running', stage: 'implement', fix_rounds: 2 });
    const fix = await queue.claim('w1', ['implement_fix']);
    expect((fix!.payload.findings as string[]).slice(0, 1)).toEqual(['tests: adds negatives: 3 == -3']);
  });

  it('sends a reviewer’s requested changes to the builder as findings', async () => {
    const repo = await register();
    const sha = await sumFeature(fixture.repo, 'autodev/1-add-sum', false);
    const wf = await toGates(repo, 'autodev/1-add-sum', sha);
    await complete('review_mr', {
      status: 'done',
      summary: 's',
      verdict: 'request_changes',
      findings: [
        { severity: 'major', file: 'sum.mjs', line: 2, message: 'validate that both arguments are numbers' },
        { severity: 'info', message: 'nice naming' },
      ],
    });
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    expect(await workflow(wf)).toMatchObject({ stage: 'implement', fix_rounds: 1 });
    const fix = await queue.claim('w1', ['implement_fix']);
    expect(fix!.payload.findings).toEqual(['review: [major] validate that both arguments are numbers (sum.mjs:2)']);
    expect(await pendingMerge()).toEqual([]);
  });

  it('fails the review gate when the lint command fails, even when the reviewer approves', async () => {
    const lint = 'if [ -e debug.log.txt ]; then echo "debug.log.txt: debug output must not be committed"; exit 1; fi';
    const repo = await register({ lintCommand: lint });
    const sha = await branchWithFiles(fixture.repo, 'autodev/1-add-sum', 'main', {
      'sum.mjs': 'export function sum(a, b) {\n  return a + b;\n}\n',
      'test/sum.test.mjs': "import test from 'node:test';\ntest('ok', () => {});\n",
      'debug.log.txt': 'x\n',
    });
    const wf = await toGates(repo, 'autodev/1-add-sum', sha);
    const reviewer = await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);

    expect((await taskResult(reviewer.id)).gates.lint).toMatchObject({
      command: lint,
      passed: false,
      exit_code: 1,
      output_tail: 'debug.log.txt: debug output must not be committed',
    });
    expect(await workflow(wf)).toMatchObject({ stage: 'implement', fix_rounds: 1 });
    const fix = await queue.claim('w1', ['implement_fix']);
    const findings = fix!.payload.findings as string[];
    expect(findings).toEqual([expect.stringContaining('review: lint')]);
    expect(findings[0]).toContain('debug output must not be committed');
  });

  it('passes a clean lint and leaves the reviewer’s verdict standing', async () => {
    const repo = await register({ lintCommand: 'test ! -e debug.log.txt' });
    const sha = await sumFeature(fixture.repo, 'autodev/1-add-sum', false);
    const wf = await toGates(repo, 'autodev/1-add-sum', sha);
    const reviewer = await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    expect((await taskResult(reviewer.id)).gates.lint).toMatchObject({ passed: true, exit_code: 0 });
    expect((await workflow(wf)).stage).toBe('merge_approval');
    expect(await pendingMerge()).toHaveLength(1);
  });
});
