/**
 * @module `GET /api/merge-requests/:id` on both engines with a real git repository and a story workflow moved by the
 * real workflow functions: the diff of the commits the gates passed on (also after the merge), notes, the gates of
 * the round the request was opened for with their deterministic runs, the earlier round's failing test run, the
 * merge approval's `merge_request_id`, a diff over the cap cut and flagged, and bad ids refused.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forgeClientFor } from '../../src/forge/forge-clients.js';
import { addMergeRequestNote, recordMergeRequestOpened } from '../../src/forge/merge-request-records.js';
import { addRepository, type RepositoryRow } from '../../src/forge/repositories.js';
import { git } from '../../src/workspace/git.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { decideApproval } from '../../src/workflow/approvals.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { MAX_DIFF_BYTES } from '../../src/workflow/merge-request-view.js';
import type { GateVerdict } from '../../src/workflow/workflow-steps.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { DIALECTS } from '../support/dialects.js';
import { commitAll, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { errorOf, useTestServer } from './test-server.js';

const STORY = { status: 'done', summary: 's', title: 'Sum', body: 'B', acceptance_criteria: ['works'] };
const SPEC = {
  status: 'done',
  summary: 's',
  spec_markdown: '# Spec',
  files_to_touch: ['sum.js'],
  test_plan: 't',
  risks: [],
};
const HOSTILE_TAIL = 'FAIL sum.test.js > adds <img src=x onerror="window.__pwned=1">\nTests  1 failed | 2 passed (3)';

/** Creates `branch` from `from` with `file` = `content` committed, and goes back to main. */
async function branchWith(repo: string, branch: string, from: string, file: string, content: string) {
  await git(repo, ['checkout', '--quiet', '-b', branch, from]);
  await writeFile(join(repo, file), content);
  const sha = await commitAll(repo, `change ${file} on ${branch}`);
  await git(repo, ['checkout', '--quiet', 'main']);
  return sha;
}

function testRun(passed: boolean, tail: string) {
  return {
    tests: {
      command: 'npm test',
      ref: 'x',
      commit: 'c0ffee',
      passed,
      exit_code: passed ? 0 : 1,
      timed_out: false,
      counts: { passed: passed ? 3 : 2, failed: passed ? 0 : 1, skipped: 0, runner: 'vitest' },
      coverage: 91.5,
      coverage_threshold: 80,
      output_tail: tail,
      duration_ms: 1234,
    },
  };
}

describe.each(DIALECTS)('%s: merge request route', (dialect) => {
  const s = useTestServer(dialect);
  let fixture: TestRepo;
  let repo: RepositoryRow;

  beforeEach(async () => {
    fixture = await makeRepo();
    repo = await addRepository(
      s.db.handle.db,
      { path: fixture.repo, name: `mr-${Date.now()}`, actor: 'test', now: Date.now() },
      '/',
    );
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  async function complete(type: string, result: unknown, deterministic?: GateVerdict) {
    const deps = workflowDeps(s.queue, 3);
    const task = await s.queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type}`);
    await s.db.handle.db.transaction().execute(async (tx) => {
      await s.queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
      await onWorkflowTaskCompleted(tx, deps, task, result, 'w1', deterministic);
    });
    return task.id;
  }

  /** Round 0 fails its tests (the real run's verdict), round 1 on the fix branch passes: a merge approval waits. */
  async function storyAtMergeApproval() {
    const deps = workflowDeps(s.queue, 3);
    const wf = await startStoryWorkflow(s.db.handle.db, deps, {
      title: 'Sum',
      body: 'b',
      repoId: repo.id,
      createdBy: 'test',
    });
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const specs = await s.request({ method: 'GET', url: '/api/approvals?status=pending' });
    const spec = (specs.json() as { approvals: { id: number; merge_request_id: number | null }[] }).approvals[0]!;
    expect(spec.merge_request_id).toBeNull();
    await decideApproval(s.db.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'test' });

    const first = await branchWith(fixture.repo, 'autodev/1-sum', 'main', 'sum.js', 'export const sum = (a) => a;\n');
    await complete('implement_feature', {
      status: 'done',
      summary: 's',
      branch: 'autodev/1-sum',
      commits: [{ sha: first, message: 'm' }],
      files_changed: ['sum.js'],
    });
    const failing = { passed: false, findings: ['tests: "npm test" failed (exit 1)'] };
    await complete('review_mr', { status: 'done', summary: 'fine', verdict: 'approve', findings: [] });
    await complete(
      'run_tests',
      {
        status: 'done',
        summary: 'one fails',
        command: 'npm test',
        passed: 2,
        failed: 1,
        skipped: 0,
        failures: [{ name: 'adds', message: 'expected 3' }],
        gates: { ...testRun(false, HOSTILE_TAIL), verdict: failing },
      },
      failing,
    );
    await complete('security_scan', { status: 'done', summary: 'clean', verdict: 'pass', findings: [] });

    const fixed = await branchWith(
      fixture.repo,
      'autodev/2-sum-fix',
      'autodev/1-sum',
      'sum.js',
      'export const sum = (a, b) => a + b;\n',
    );
    await complete('implement_fix', {
      status: 'done',
      summary: 's',
      branch: 'autodev/2-sum-fix',
      commits: [{ sha: fixed, message: 'fix' }],
      files_changed: ['sum.js'],
    });
    const lint = {
      lint: {
        command: 'npx eslint .',
        ref: 'autodev/2-sum-fix',
        commit: fixed,
        passed: true,
        exit_code: 0,
        timed_out: false,
        output_tail: '',
        duration_ms: 50,
      },
    };
    await complete('review_mr', {
      status: 'done',
      summary: 'looks right',
      verdict: 'approve',
      findings: [],
      gates: lint,
    });
    const passing = { passed: true, findings: [] };
    await complete(
      'run_tests',
      {
        status: 'done',
        summary: 'all pass',
        command: 'npm test',
        passed: 3,
        failed: 0,
        skipped: 0,
        failures: [],
        gates: { ...testRun(true, 'Tests  3 passed (3)'), verdict: passing },
      },
      passing,
    );
    const scan = {
      secret_scan: {
        scanner: 'secretlint',
        ref: 'autodev/2-sum-fix',
        base: 'main',
        passed: true,
        findings: [],
        duration_ms: 7,
      },
    };
    await complete('security_scan', { status: 'done', summary: 'clean', verdict: 'pass', findings: [], gates: scan });
    return { wf, fixed, deps };
  }

  it('shows the diff, notes and gates of the round, links the merge approval, and still after the merge', async () => {
    const { wf, fixed, deps } = await storyAtMergeApproval();
    const list = await s.request({ method: 'GET', url: '/api/approvals?status=pending', token: s.tokens.viewer });
    expect(list.statusCode, list.body).toBe(200);
    const [merge] = (list.json() as { approvals: { id: number; kind: string; merge_request_id: number | null }[] })
      .approvals;
    expect(merge).toMatchObject({ kind: 'merge' });
    const mrRow = await s.db.handle.db
      .selectFrom('merge_requests')
      .selectAll()
      .where('workflow_id', '=', wf.id)
      .where('source_branch', '=', 'autodev/2-sum-fix')
      .executeTakeFirstOrThrow();
    expect(merge!.merge_request_id).toBe(mrRow.id);
    await addMergeRequestNote(s.db.handle.db, {
      mergeRequestId: mrRow.id,
      author: 'reviewer',
      kind: 'review',
      verdict: 'approve',
      body: 'ship it',
      now: Date.now(),
    });

    const response = await s.request({ method: 'GET', url: `/api/merge-requests/${mrRow.id}`, token: s.tokens.viewer });
    expect(response.statusCode, response.body).toBe(200);
    const view = response.json();
    expect(view).toMatchObject({
      id: mrRow.id,
      repo: { id: repo.id, name: repo.name },
      workflow_id: wf.id,
      source_branch: 'autodev/2-sum-fix',
      target_branch: 'main',
      status: 'open',
      head_sha: fixed,
      round: 1,
      notes: [{ author: 'reviewer', verdict: 'approve', body: 'ship it' }],
      diff: { truncated: false, error: null, limit_bytes: MAX_DIFF_BYTES, head: fixed },
    });
    expect(view.diff.text).toContain('+export const sum = (a, b) => a + b;');
    expect(view.diff.bytes).toBe(Buffer.byteLength(view.diff.text));
    const byName = Object.fromEntries((view.gates as { name: string }[]).map((g) => [g.name, g]));
    expect(byName.tests).toMatchObject({
      passed: true,
      findings: [],
      summary: 'all pass',
      agent_counts: { passed: 3, failed: 0, skipped: 0 },
      run: {
        kind: 'tests',
        passed: true,
        counts: { passed: 3, failed: 0, skipped: 0, runner: 'vitest' },
        coverage: 91.5,
        coverage_threshold: 80,
        output_tail: 'Tests  3 passed (3)',
        duration_ms: 1234,
      },
    });
    expect(byName.security).toMatchObject({
      passed: true,
      agent_verdict: 'pass',
      run: { kind: 'secret_scan', findings: [] },
    });
    expect(byName.review).toMatchObject({
      passed: true,
      agent_verdict: 'approve',
      run: { kind: 'lint', passed: true },
    });
    // The earlier round's failing run, with its (untrusted) output tail as stored.
    expect(view.earlier_rounds).toHaveLength(1);
    const earlier = view.earlier_rounds[0] as {
      round: number;
      gates: { name: string; passed: boolean; run: unknown }[];
    };
    expect(earlier.round).toBe(0);
    expect(earlier.gates.find((g) => g.name === 'tests')).toMatchObject({
      passed: false,
      run: { kind: 'tests', passed: false, output_tail: HOSTILE_TAIL },
    });
    // Round 0 failed: no merge request was opened for the first branch.
    const first = await s.db.handle.db
      .selectFrom('merge_requests')
      .select('id')
      .where('source_branch', '=', 'autodev/1-sum')
      .executeTakeFirst();
    expect(first).toBeUndefined();

    // Approved and merged: the diff is still the change the gates passed (the recorded commits), not empty.
    await decideApproval(s.db.handle.db, deps, { id: merge!.id, decision: 'approved', actor: 'test' });
    expect((await runMergeTasks(s.queue, deps)).map((r) => r.outcome)).toEqual(['merged']);
    const merged = (await s.request({ method: 'GET', url: `/api/merge-requests/${mrRow.id}` })).json();
    expect(merged.status).toBe('merged');
    expect(merged.merge_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(merged.diff.text).toContain('+export const sum = (a, b) => a + b;');
    expect(merged.round).toBe(1);
    const decided = await s.request({ method: 'GET', url: '/api/approvals?status=approved' });
    const approved = (decided.json() as { approvals: { kind: string; merge_request_id: number | null }[] }).approvals;
    expect(approved.find((a) => a.kind === 'merge')?.merge_request_id).toBe(mrRow.id);
  });

  it('cuts a diff over the cap at a line end and says so; a missing repository is an error in the view', async () => {
    const line = `${'x'.repeat(99)}\n`;
    await branchWith(fixture.repo, 'big', 'main', 'big.txt', line.repeat(Math.ceil((MAX_DIFF_BYTES * 1.3) / 100)));
    const client = forgeClientFor(repo, { dataDir: '/nonexistent', env: {} });
    const mr = await recordMergeRequestOpened(s.db.handle.db, {
      repoId: repo.id,
      workflowId: null,
      opened: await client.openMergeRequest({ sourceBranch: 'big', title: 'Big', description: 'd' }),
      description: 'd',
      externalId: null,
      actor: 'test',
      now: Date.now(),
    });
    const view = (await s.request({ method: 'GET', url: `/api/merge-requests/${mr.id}` })).json();
    expect(view.diff.truncated).toBe(true);
    expect(view.diff.bytes).toBeLessThanOrEqual(MAX_DIFF_BYTES);
    expect(view.diff.bytes).toBeGreaterThan(MAX_DIFF_BYTES - 200);
    expect(view.diff.text.endsWith('\n')).toBe(true);
    expect(view.diff.text).toContain('+++ b/big.txt');
    expect(view.round).toBeNull();
    expect(view.gates.map((g: { name: string; passed: unknown }) => [g.name, g.passed])).toEqual([
      ['review', null],
      ['tests', null],
      ['security', null],
    ]);

    await rm(fixture.repo, { recursive: true, force: true });
    const gone = await s.request({ method: 'GET', url: `/api/merge-requests/${mr.id}` });
    expect(gone.statusCode).toBe(200);
    expect(gone.json().diff).toMatchObject({ text: null, truncated: false });
    expect(gone.json().diff.error).toMatch(/^no diff: /);
  });

  it('refuses bad ids and missing tokens with a JSON error and writes nothing', async () => {
    const before = await s.rowCounts();
    for (const url of [
      '/api/merge-requests/abc',
      '/api/merge-requests/0',
      '/api/merge-requests/-1',
      '/api/merge-requests/1.5',
    ]) {
      const response = await s.request({ method: 'GET', url });
      expect(response.statusCode, url).toBe(400);
      expect(errorOf(response).code).toBe('VALIDATION_FAILED');
    }
    const unknown = await s.request({ method: 'GET', url: '/api/merge-requests/99999' });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown)).toEqual({ code: 'MERGE_REQUEST_NOT_FOUND', message: 'no merge request has id 99999' });
    const anonymous = await s.request({ method: 'GET', url: '/api/merge-requests/1', token: null });
    expect(anonymous.statusCode).toBe(401);
    expect(await s.rowCounts()).toEqual(before);
  });
});
