/**
 * @module The local forge client with the merge request records, real git in temp repositories, on both engines:
 * merge requests with diff and notes, a real merge commit, and the refusals (conflict, default branch moved, source
 * changed) that change nothing; a crash between the git merge and the database commit recognized on retry; then the
 * story workflow merging through it with the deterministic `merge` task.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MergeResult } from '../../src/forge/forge-client.js';
import { forgeClientFor } from '../../src/forge/forge-clients.js';
import {
  addMergeRequestNote,
  mergeCommitTitle,
  recordMergeOutcome,
  recordMergeRequestOpened,
  type MergeRequestRow,
} from '../../src/forge/merge-request-records.js';
import {
  addRepository,
  repositoryToJson,
  updateRepositoryCommands,
  type RepositoryRow,
} from '../../src/forge/repositories.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { git, gitOutput } from '../../src/workspace/git.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { branchCommit, commitAll, fileAt, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

const NOW = 1_700_000_000_000;

/** Creates `branch` from main with `file` = `content` committed, and goes back to main. */
async function branchWith(repo: string, branch: string, file: string, content: string): Promise<string> {
  await git(repo, ['checkout', '--quiet', '-b', branch, 'main']);
  await writeFile(join(repo, file), content);
  const sha = await commitAll(repo, `change ${file} on ${branch}`);
  await git(repo, ['checkout', '--quiet', 'main']);
  return sha;
}

describe.each(DIALECTS)('%s: local forge', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let repo: RepositoryRow;
  const client = (row: RepositoryRow) => forgeClientFor(row, { dataDir: '/nonexistent', env: {} });

  beforeEach(async () => {
    fixture = await makeRepo();
    repo = await addRepository(t.handle.db, { path: fixture.repo, name: 'sample', actor: 'test', now: NOW }, '/');
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  const open = async (branch: string) =>
    recordMergeRequestOpened(t.handle.db, {
      repoId: repo.id,
      workflowId: null,
      opened: await client(repo).openMergeRequest({ sourceBranch: branch, title: `Merge ${branch}`, description: 'd' }),
      description: 'd',
      externalId: null,
      actor: 'test',
      now: NOW,
    });
  /** The client's merge, as the merge step asks for it. */
  const forgeMerge = (row: RepositoryRow, mr: MergeRequestRow): Promise<MergeResult> =>
    client(row).merge(mr.source_branch, {
      expectedHeadSha: mr.head_sha!,
      expectedTargetSha: mr.target_sha,
      method: client(row).repository.mergeMethod,
      title: mergeCommitTitle(mr),
    });
  /** The client's merge recorded, as the merge step's completing transaction does. */
  const mergeAndRecord = async (row: RepositoryRow, mr: MergeRequestRow) =>
    recordMergeOutcome(t.handle.db, mr, await forgeMerge(row, mr), { actor: 'test', now: NOW });

  it('opens a merge request with its diff and notes, and merges it with a merge commit', async () => {
    const head = await branchWith(fixture.repo, 'feature', 'sum.js', 'export const sum = (a, b) => a + b;\n');
    const mr = await open('feature');
    expect(mr).toMatchObject({ status: 'open', source_branch: 'feature', target_branch: 'main', head_sha: head });
    expect(await client(repo).diff('feature')).toContain('+export const sum');
    const note = await addMergeRequestNote(t.handle.db, {
      mergeRequestId: mr.id,
      author: 'reviewer',
      kind: 'review',
      verdict: 'approve',
      body: 'fine',
      now: NOW,
    });
    expect(note).toMatchObject({ verdict: 'approve', body: 'fine' });
    const before = await branchCommit(fixture.repo, 'main');
    const outcome = await mergeAndRecord(repo, mr);
    expect(outcome.status).toBe('merged');
    const mainSha = await branchCommit(fixture.repo, 'main');
    expect(outcome).toEqual({ status: 'merged', sha: mainSha, recovered: false });
    const parents = (await gitOutput(fixture.repo, ['rev-list', '--parents', '-n', '1', 'main'])).split(' ');
    expect(parents.slice(1)).toEqual([before, head]);
    expect(await fileAt(fixture.repo, 'main', 'sum.js')).toContain('sum');
    // The checkout of main moved with it and is clean.
    expect(await gitOutput(fixture.repo, ['status', '--porcelain'])).toBe('');
    const stored = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ status: 'merged', merge_sha: mainSha });
  });

  it('squashes when the repository says so: one commit on main, recognized again after a crash', async () => {
    const squashing = await updateRepositoryCommands(
      t.handle.db,
      repo.id,
      { mergeMethod: 'squash' },
      { actor: 'test', now: NOW },
    );
    expect(repositoryToJson(squashing).merge_method).toBe('squash');
    await branchWith(fixture.repo, 'feature', 'sum.js', 'export const sum = (a, b) => a + b;\n');
    await git(fixture.repo, ['checkout', '--quiet', 'feature']);
    await writeFile(join(fixture.repo, 'mul.js'), 'export const mul = (a, b) => a * b;\n');
    const head = await commitAll(fixture.repo, 'change mul.js on feature');
    await git(fixture.repo, ['checkout', '--quiet', 'main']);
    const mr = await open('feature');
    const before = await branchCommit(fixture.repo, 'main');
    // The forge merges; the process "dies" before the outcome is recorded.
    expect((await forgeMerge(squashing, mr)).status).toBe('merged');
    const squashed = await branchCommit(fixture.repo, 'main');
    // One commit, parent the old main, with both of the branch's files and a message naming the request and head.
    const parents = (await gitOutput(fixture.repo, ['rev-list', '--parents', '-n', '1', 'main'])).split(' ');
    expect(parents.slice(1)).toEqual([before]);
    expect(await fileAt(fixture.repo, 'main', 'sum.js')).toContain('sum');
    expect(await fileAt(fixture.repo, 'main', 'mul.js')).toContain('mul');
    const message = await gitOutput(fixture.repo, ['log', '-1', '--format=%B', 'main']);
    expect(message).toContain(`(merge request ${mr.id})`);
    expect(message).toContain(head);
    const stillOpen = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(stillOpen.status).toBe('open');
    expect(await mergeAndRecord(squashing, stillOpen)).toEqual({ status: 'merged', sha: squashed, recovered: true });
    expect(await branchCommit(fixture.repo, 'main')).toBe(squashed);
  });

  it('refuses a merge method it does not know, writing nothing', async () => {
    await expect(
      updateRepositoryCommands(
        t.handle.db,
        repo.id,
        { mergeMethod: 'rebase' as unknown as 'merge' },
        { actor: 'test', now: NOW },
      ),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const row = await t.handle.db.selectFrom('repositories').selectAll().executeTakeFirstOrThrow();
    expect(repositoryToJson(row).merge_method).toBe('merge');
  });

  it('recognizes its own merge after a crash between the git merge and the database commit', async () => {
    const head = await branchWith(fixture.repo, 'feature', 'sum.js', 'export const sum = (a, b) => a + b;\n');
    const mr = await open('feature');
    const before = await branchCommit(fixture.repo, 'main');
    // The git part runs and moves main; the process "dies" before the outcome is recorded.
    expect((await forgeMerge(repo, mr)).status).toBe('merged');
    const merged = await branchCommit(fixture.repo, 'main');
    expect(merged).not.toBe(before);
    const stillOpen = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(stillOpen).toMatchObject({ status: 'open', target_sha: before, merge_sha: null });

    // The retry sees main "moved" by our own merge commit, and records it as merged (no second merge commit).
    const retry = await mergeAndRecord(repo, stillOpen);
    expect(retry).toEqual({ status: 'merged', sha: merged, recovered: true });
    expect(await branchCommit(fixture.repo, 'main')).toBe(merged);
    const parents = (await gitOutput(fixture.repo, ['rev-list', '--parents', '-n', '1', 'main'])).split(' ');
    expect(parents.slice(1)).toEqual([before, head]);
    const stored = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ status: 'merged', merge_sha: merged });
    const event = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'merge_request.merged')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(event.data)).toMatchObject({ merge_sha: merged, recovered: expect.stringContaining('already') });
  });

  it('still refuses when the default branch moved by someone else’s merge of the same head', async () => {
    const head = await branchWith(fixture.repo, 'feature', 'sum.js', 'export const sum = (a, b) => a + b;\n');
    const mr = await open('feature');
    // A person merges the branch by hand: a merge commit with the same parents, but not ours.
    await git(fixture.repo, ['merge', '--no-ff', '--quiet', '-m', 'manual merge', head], { asAutodev: true });
    const outcome = await mergeAndRecord(repo, mr);
    expect(outcome).toMatchObject({ status: 'refused', rerunGates: true });
    const stored = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(stored.status).toBe('open');
  });

  it('refuses a merge that conflicts, and one whose default branch moved, changing nothing', async () => {
    await branchWith(fixture.repo, 'feature', 'README.md', '# feature version\n');
    const mr = await open('feature');
    await writeFile(join(fixture.repo, 'README.md'), '# main version\n');
    await commitAll(fixture.repo, 'main moves');
    const moved = await mergeAndRecord(repo, mr);
    expect(moved).toMatchObject({ status: 'refused', rerunGates: true });
    const refreshed = await open('feature');
    expect(refreshed.id).toBe(mr.id);
    const mainBefore = await branchCommit(fixture.repo, 'main');
    const conflict = await mergeAndRecord(repo, refreshed);
    expect(conflict).toMatchObject({ status: 'refused', rerunGates: false });
    expect(conflict.status === 'refused' && conflict.reason).toContain('README.md');
    expect(await branchCommit(fixture.repo, 'main')).toBe(mainBefore);
    expect(await gitOutput(fixture.repo, ['status', '--porcelain'])).toBe('');
    const stored = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(stored.status).toBe('open');
  });

  describe('in the story workflow', () => {
    let queue: TaskQueue;
    beforeEach(() => {
      queue = new TaskQueue(t.handle, undefined, () => NOW);
    });
    afterEach(async () => {
      await queue.close();
    });

    const STORY = { status: 'done', summary: 's', stories: [{ title: 'T', body: 'B', acceptance_criteria: ['a'] }] };
    const SPEC = {
      status: 'done',
      summary: 's',
      spec_markdown: '#',
      files_to_touch: ['a.js'],
      test_plan: 't',
      risks: [],
    };
    const GATES = [
      ['review_mr', { status: 'done', summary: 's', verdict: 'approve', findings: [] }],
      ['run_tests', { status: 'done', summary: 's', command: 'x', passed: 1, failed: 0, skipped: 0, failures: [] }],
      ['security_scan', { status: 'done', summary: 's', verdict: 'pass', findings: [] }],
    ] as const;

    async function complete(type: string, result: unknown) {
      const deps = workflowDeps(queue, 3);
      const task = await queue.claim('w1', [type]);
      if (!task) throw new Error(`no pending ${type}`);
      await t.handle.db.transaction().execute(async (tx) => {
        await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
      });
    }

    async function toMergeApproval(branch: string) {
      const deps = workflowDeps(queue, 3);
      const wf = await startStoryWorkflow(t.handle.db, deps, {
        title: 'Sum',
        body: 'b',
        repoId: repo.id,
        createdBy: 'cli',
      });
      await complete('create_user_story', STORY);
      await complete('write_spec', SPEC);
      const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
      await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
      const sha = await gitOutput(fixture.repo, ['rev-parse', branch]);
      await complete('implement_feature', {
        status: 'done',
        summary: 's',
        branch,
        commits: [{ sha, message: 'm' }],
        files_changed: ['a.js'],
      });
      for (const [type, result] of GATES) await complete(type, result);
      const merge = (await listApprovals(t.handle.db, { status: 'pending' })).find((a) => a.kind === 'merge');
      expect(merge).toBeDefined();
      return { wf, merge: merge!, deps };
    }

    it('merges the approved branch onto main and starts the deployment', async () => {
      await branchWith(fixture.repo, 'autodev/7-sum', 'a.js', 'ok\n');
      const { wf, merge, deps } = await toMergeApproval('autodev/7-sum');
      await decideApproval(t.handle.db, deps, { id: merge.id, decision: 'approved', actor: 'cli:alice' });
      // The decision is recorded with the merge as its intent: nothing merged yet.
      expect(await fileAt(fixture.repo, 'main', 'a.js')).toBeNull();
      expect((await runMergeTasks(queue, deps)).map((r) => r.outcome)).toEqual(['merged']);
      expect(await fileAt(fixture.repo, 'main', 'a.js')).toBe('ok\n');
      const row = await t.handle.db
        .selectFrom('workflows')
        .selectAll()
        .where('id', '=', wf.id)
        .executeTakeFirstOrThrow();
      expect(row.stage).toBe('deploy');
      const deploy = await queue.claim('w1', ['deploy']);
      expect(deploy?.payload.sha).toBe(await branchCommit(fixture.repo, 'main'));
    });

    it('refuses a conflicting merge and sends it back to the builder', async () => {
      await branchWith(fixture.repo, 'autodev/8-sum', 'README.md', '# feature\n');
      const { wf, merge, deps } = await toMergeApproval('autodev/8-sum');
      // main moves under the pending approval: the gates run again on the new base.
      await writeFile(join(fixture.repo, 'README.md'), '# main\n');
      await commitAll(fixture.repo, 'main moves');
      const mainBefore = await branchCommit(fixture.repo, 'main');
      await decideApproval(t.handle.db, deps, { id: merge.id, decision: 'approved', actor: 'cli:alice' });
      expect((await runMergeTasks(queue, deps)).map((r) => r.outcome)).toEqual(['refused']);
      let row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
      expect(row.stage).toBe('gates');
      for (const [type, result] of GATES) await complete(type, result);
      const again = (await listApprovals(t.handle.db, { status: 'pending' })).find((a) => a.kind === 'merge');
      await decideApproval(t.handle.db, deps, { id: again!.id, decision: 'approved', actor: 'cli:alice' });
      expect((await runMergeTasks(queue, deps)).map((r) => r.outcome)).toEqual(['refused']);
      expect(await branchCommit(fixture.repo, 'main')).toBe(mainBefore);
      row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
      expect(row.stage).toBe('implement');
      const fix = await queue.claim('w1', ['implement_fix']);
      expect(String((fix?.payload.findings as string[])[0])).toContain('does not merge cleanly');
      const refused = await t.handle.db
        .selectFrom('events')
        .select('kind')
        .where('kind', '=', 'merge_request.merge_refused')
        .execute();
      expect(refused).toHaveLength(2);
    });
  });
});
