import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, gitOutput, listWorktrees } from '../../src/workspace/git.js';
import {
  commitWip,
  findTaskCheckout,
  prepareWorktree,
  removeWorktree,
  sandboxPathsFor,
} from '../../src/workspace/worktrees.js';
import { runSandboxed } from '../../src/workspace/sandbox.js';
import { branchCommit, commitAll, fileAt, makeRepo, type TestRepo } from './git-fixtures.js';

let t: TestRepo;

beforeEach(async () => {
  t = await makeRepo();
});

afterEach(async () => {
  await t.cleanup();
});

function prepare(taskId: number, title = 'Add login', extra: { readOnly?: boolean; ref?: string } = {}) {
  return prepareWorktree({ repoPath: t.repo, baseDir: t.baseDir, taskId, title, baseBranch: 'main', ...extra });
}

describe('prepareWorktree: writable tasks', () => {
  it('gives a task its own worktree on its own branch, created from the base branch', async () => {
    const main = await branchCommit(t.repo, 'main');
    const wt = await prepare(1, 'Add OAuth login');

    expect(wt.branch).toBe('autodev/1-add-oauth-login');
    expect(wt.path).toBe(join(t.baseDir, 'task-1'));
    expect(wt.head).toBe(main);
    expect(wt.resumed).toBe(false);
    expect(wt.readOnly).toBe(false);
    expect(await gitOutput(wt.path, ['symbolic-ref', '--short', 'HEAD'])).toBe('autodev/1-add-oauth-login');
    expect(await readFile(join(wt.path, 'README.md'), 'utf8')).toBe('# sample\n');
    expect(await gitOutput(t.repo, ['symbolic-ref', '--short', 'HEAD'])).toBe('main');
  });

  it('resuming a task continues on the same branch with the commits already made', async () => {
    const first = await prepare(2);
    await writeFile(join(first.path, 'login.ts'), 'export const login = 1;\n');
    const wip = await commitWip(first, 'WIP: first session');
    await removeWorktree(first);
    // The base branch moves on meanwhile; resuming must not reset or rebase the task branch onto it.
    await writeFile(join(t.repo, 'CHANGELOG.md'), 'later\n');
    const mainAfter = await commitAll(t.repo, 'unrelated work on main');

    const resumed = await prepare(2);

    expect(resumed.resumed).toBe(true);
    expect(resumed.branch).toBe(first.branch);
    expect(resumed.head).toBe(wip.commit);
    expect(await readFile(join(resumed.path, 'login.ts'), 'utf8')).toBe('export const login = 1;\n');
    expect(existsSync(join(resumed.path, 'CHANGELOG.md'))).toBe(false);
    expect(await branchCommit(t.repo, 'main')).toBe(mainAfter);
  });

  it('resuming a task whose title changed continues on its existing branch', async () => {
    const first = await prepare(40, 'Original title');
    await writeFile(join(first.path, 'work.txt'), 'work\n');
    const wip = await commitWip(first, 'WIP');
    await removeWorktree(first);

    const resumed = await prepare(40, 'Edited title');

    expect(resumed.branch).toBe('autodev/40-original-title');
    expect(resumed.head).toBe(wip.commit);
    // Task 4 and task 400 are other tasks, whatever their branches are called.
    expect((await prepare(4, 'Original title')).branch).toBe('autodev/4-original-title');
    expect((await prepare(400, 'x')).branch).toBe('autodev/400-x');
  });

  it('resuming on the same worker reuses the worktree and keeps its uncommitted changes', async () => {
    const first = await prepare(3);
    await writeFile(join(first.path, 'draft.txt'), 'not committed yet\n');
    await writeFile(join(first.path, 'README.md'), '# edited\n');

    const again = await prepare(3);

    expect(again.path).toBe(first.path);
    expect(again.resumed).toBe(true);
    expect(await readFile(join(again.path, 'draft.txt'), 'utf8')).toBe('not committed yet\n');
    expect(await readFile(join(again.path, 'README.md'), 'utf8')).toBe('# edited\n');
  });

  it('resuming on another worker continues on the branch the first worker pushed', async () => {
    const origin = join(t.root, 'origin.git');
    await git(t.root, ['clone', '--quiet', '--bare', t.repo, origin]);
    const workerA = join(t.root, 'worker-a');
    const workerB = join(t.root, 'worker-b');
    await git(t.root, ['clone', '--quiet', origin, workerA]);
    await git(t.root, ['clone', '--quiet', origin, workerB]);

    const onA = await prepareWorktree({
      repoPath: workerA,
      baseDir: join(t.root, 'a-worktrees'),
      taskId: 4,
      title: 'Add login',
      baseBranch: 'main',
    });
    await writeFile(join(onA.path, 'login.ts'), 'from worker A\n');
    const wip = await commitWip(onA, 'WIP: worker A');
    // Auto-Dev pushes the task branch from its repository (the agent's clone has no remote but the repository).
    await git(workerA, ['push', '--quiet', 'origin', `${onA.branch}:${onA.branch}`]);
    await git(workerB, ['fetch', '--quiet', 'origin']);

    const onB = await prepareWorktree({
      repoPath: workerB,
      baseDir: join(t.root, 'b-worktrees'),
      taskId: 4,
      title: 'Add login',
      baseBranch: 'main',
    });

    expect(onB.resumed).toBe(true);
    expect(onB.branch).toBe(onA.branch);
    expect(onB.head).toBe(wip.commit);
    expect(await readFile(join(onB.path, 'login.ts'), 'utf8')).toBe('from worker A\n');
  });

  it('a stale local task branch is fast-forwarded to the commits another worker pushed, never moved back', async () => {
    const origin = join(t.root, 'origin.git');
    await git(t.root, ['clone', '--quiet', '--bare', t.repo, origin]);
    const workerA = join(t.root, 'worker-a');
    const workerB = join(t.root, 'worker-b');
    await git(t.root, ['clone', '--quiet', origin, workerA]);
    await git(t.root, ['clone', '--quiet', origin, workerB]);
    const options = { taskId: 9, title: 'Add login', baseBranch: 'main' };

    const firstOnA = await prepareWorktree({ ...options, repoPath: workerA, baseDir: join(t.root, 'a-wt') });
    await writeFile(join(firstOnA.path, 'one.txt'), 'A\n');
    await commitWip(firstOnA, 'WIP: A');
    await git(workerA, ['push', '--quiet', 'origin', `${firstOnA.branch}:${firstOnA.branch}`]);
    await removeWorktree(firstOnA);
    await git(workerB, ['fetch', '--quiet', 'origin']);
    const onB = await prepareWorktree({ ...options, repoPath: workerB, baseDir: join(t.root, 'b-wt') });
    await writeFile(join(onB.path, 'two.txt'), 'B\n');
    const fromB = await commitWip(onB, 'WIP: B');
    await git(workerB, ['push', '--quiet', 'origin', `${onB.branch}:${onB.branch}`]);
    await git(workerA, ['fetch', '--quiet', 'origin']);

    const againOnA = await prepareWorktree({ ...options, repoPath: workerA, baseDir: join(t.root, 'a-wt') });

    expect(againOnA.head).toBe(fromB.commit);
    expect(await readFile(join(againOnA.path, 'one.txt'), 'utf8')).toBe('A\n');
    expect(await readFile(join(againOnA.path, 'two.txt'), 'utf8')).toBe('B\n');

    // A local commit the remote does not have is never thrown away.
    await writeFile(join(againOnA.path, 'three.txt'), 'A again\n');
    const localOnly = await commitWip(againOnA, 'WIP: A again');
    await removeWorktree(againOnA);
    const onceMore = await prepareWorktree({ ...options, repoPath: workerA, baseDir: join(t.root, 'a-wt') });
    expect(onceMore.head).toBe(localOnly.commit);
  });

  it('two tasks get two worktrees that do not see each other’s changes', async () => {
    const a = await prepare(5, 'Task A');
    const b = await prepare(6, 'Task B');
    await writeFile(join(a.path, 'a.txt'), 'A\n');
    await writeFile(join(b.path, 'b.txt'), 'B\n');
    await commitWip(a, 'WIP: A');

    expect(a.path).not.toBe(b.path);
    expect(a.branch).not.toBe(b.branch);
    expect(existsSync(join(b.path, 'a.txt'))).toBe(false);
    expect(existsSync(join(a.path, 'b.txt'))).toBe(false);
    expect(await fileAt(t.repo, b.branch as string, 'a.txt')).toBeNull();
    expect(existsSync(join(t.repo, 'a.txt'))).toBe(false);
  });

  it('refuses to take over a directory that is not its worktree, and leaves it alone', async () => {
    const path = join(t.baseDir, 'task-7');
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'precious.txt'), 'keep me\n');

    await expect(prepare(7)).rejects.toMatchObject({ code: 'WORKTREE_CONFLICT' });
    expect(await readFile(join(path, 'precious.txt'), 'utf8')).toBe('keep me\n');
  });

  it('a clone a killed process left half made (its record says `preparing`) is replaced by a fresh one', async () => {
    // What a SIGKILL between the record and the clone's setup leaves (a stand-in for the killed process): the task
    // branch, a clone without a checkout, and the record written before the clone.
    const main = await gitOutput(t.repo, ['rev-parse', 'main']);
    const path = join(t.baseDir, 'task-9');
    await git(t.repo, ['branch', '--no-track', 'autodev/9-add-login', main]);
    await git(t.repo, ['clone', '--quiet', '--shared', '--no-checkout', '--no-tags', t.repo, path]);
    const record = { branch: 'autodev/9-add-login', head: main, state: 'preparing' };
    await writeFile(`${path}.json`, JSON.stringify(record));
    expect(await findTaskCheckout({ repoPath: t.repo, baseDir: t.baseDir, taskId: 9, baseBranch: 'main' })).toBeNull();

    const wt = await prepare(9);

    expect(wt).toMatchObject({ path, branch: 'autodev/9-add-login', head: main });
    expect(await readFile(join(path, 'README.md'), 'utf8')).toBe('# sample\n');
    expect(JSON.parse(await readFile(`${path}.json`, 'utf8'))).toEqual({ branch: 'autodev/9-add-login', head: main });
  });

  it('a clone a killed process left half removed (its work saved, record `removing`) is replaced; the work continues', async () => {
    const first = await prepare(10);
    await writeFile(join(first.path, 'work.txt'), 'saved work\n');
    const wip = await commitWip(first, 'WIP: saved before removal');
    // The kill came after the save and mid-delete: the record says so, part of the clone is gone.
    await writeFile(
      `${first.path}.json`,
      JSON.stringify({ branch: first.branch, head: first.head, state: 'removing' }),
    );
    await rm(join(first.path, 'README.md'));

    const again = await prepare(10);

    expect(again).toMatchObject({ path: first.path, branch: first.branch, head: wip.commit, resumed: true });
    expect(await readFile(join(again.path, 'work.txt'), 'utf8')).toBe('saved work\n');
    expect(await readFile(join(again.path, 'README.md'), 'utf8')).toBe('# sample\n');
  });

  it('refuses a base branch that does not exist', async () => {
    await expect(
      prepareWorktree({ repoPath: t.repo, baseDir: t.baseDir, taskId: 8, title: 'x', baseBranch: 'nope' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('prepareWorktree: read-only checkouts', () => {
  it('gives a reviewing role a detached checkout of the given ref', async () => {
    const builder = await prepare(10);
    await writeFile(join(builder.path, 'feature.ts'), 'feature\n');
    const wip = await commitWip(builder, 'WIP: feature');

    const review = await prepare(11, 'Review', { readOnly: true, ref: builder.branch as string });

    expect(review.readOnly).toBe(true);
    expect(review.branch).toBeNull();
    expect(review.head).toBe(wip.commit);
    expect(await readFile(join(review.path, 'feature.ts'), 'utf8')).toBe('feature\n');
    expect(await git(review.path, ['symbolic-ref', '-q', 'HEAD'], { okExitCodes: [1] })).toMatchObject({ exitCode: 1 });
  });

  it('clears every write bit in a read-only checkout', async () => {
    const review = await prepare(12, 'Review', { readOnly: true });
    for (const entry of [review.path, join(review.path, 'README.md')]) {
      expect((await stat(entry)).mode & 0o222).toBe(0);
    }
  });

  it('writing a file in a read-only checkout fails', async () => {
    const review = await prepare(13, 'Review', { readOnly: true });
    const result = await runSandboxed({
      mode: 'bubblewrap',
      command: 'sh',
      args: ['-c', 'echo new > new.txt; echo changed > README.md'],
      cwd: review.path,
      ...sandboxPathsFor(review),
      env: { PATH: process.env.PATH },
      network: false,
    });

    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system|Permission denied/);
    expect(existsSync(join(review.path, 'new.txt'))).toBe(false);
    expect(await readFile(join(review.path, 'README.md'), 'utf8')).toBe('# sample\n');
  });

  it('preparing it again at a newer commit moves the checkout and keeps it read-only', async () => {
    const first = await prepare(14, 'Review', { readOnly: true });
    await writeFile(join(t.repo, 'new.txt'), 'new\n');
    const newer = await commitAll(t.repo, 'newer');

    const again = await prepare(14, 'Review', { readOnly: true });

    expect(again.path).toBe(first.path);
    expect(again.head).toBe(newer);
    expect((await stat(join(again.path, 'new.txt'))).mode & 0o222).toBe(0);
  });

  it('removing a read-only checkout removes its directory and touches no branch', async () => {
    const branches = await gitOutput(t.repo, ['branch', '--format=%(refname)']);
    const review = await prepare(15, 'Review', { readOnly: true });

    const result = await removeWorktree(review, { branchMergedInto: 'main' });

    expect(result.branch).toBeNull();
    expect(existsSync(review.path)).toBe(false);
    expect(await gitOutput(t.repo, ['branch', '--format=%(refname)'])).toBe(branches);
  });
});

describe('never lose work', () => {
  it('removing a worktree with uncommitted and untracked changes commits them as WIP first; the branch keeps them', async () => {
    const wt = await prepare(20);
    await writeFile(join(wt.path, 'README.md'), '# changed by the agent\n');
    await mkdir(join(wt.path, 'src'));
    await writeFile(join(wt.path, 'src', 'new-file.ts'), 'export {};\n');
    await mkdir(join(wt.path, 'node_modules'));
    await writeFile(join(wt.path, 'node_modules', 'ignored.js'), 'ignored\n');
    await writeFile(join(wt.path, 'debug.log'), 'ignored\n');

    const result = await removeWorktree(wt);

    expect(existsSync(wt.path)).toBe(false);
    expect(result.wipCommit).not.toBeNull();
    expect(result.branch).toMatchObject({ name: wt.branch, deleted: false });
    expect(await branchCommit(t.repo, wt.branch as string)).toBe(result.wipCommit);
    expect(await fileAt(t.repo, wt.branch as string, 'README.md')).toBe('# changed by the agent\n');
    expect(await fileAt(t.repo, wt.branch as string, 'src/new-file.ts')).toBe('export {};\n');
    expect(await fileAt(t.repo, wt.branch as string, 'debug.log')).toBeNull();
    expect(await fileAt(t.repo, wt.branch as string, 'node_modules/ignored.js')).toBeNull();
    expect(await gitOutput(t.repo, ['log', '-1', '--format=%an <%ae>%n%s', result.wipCommit as string])).toBe(
      'Auto-Dev <autodev@localhost>\nWIP: saved by Auto-Dev from the clone of task 20 (uncommitted when the attempt ended)',
    );
  });

  it('commits deletions as WIP too', async () => {
    const wt = await prepare(21);
    await rm(join(wt.path, 'README.md'));
    await removeWorktree(wt);
    expect(await fileAt(t.repo, wt.branch as string, 'README.md')).toBeNull();
    expect(await fileAt(t.repo, 'main', 'README.md')).toBe('# sample\n');
  });

  it("a stale index lock left by a killed session (its git, or the CLI's own git status) does not stop the WIP commit", async () => {
    const wt = await prepare(24);
    await writeFile(join(wt.path, 'work.txt'), 'work\n');
    await writeFile(join(wt.path, '.git', 'index.lock'), '');

    const result = await commitWip(wt, 'WIP after a kill');

    expect(result.committed).toBe(true);
    expect(await fileAt(t.repo, wt.branch as string, 'work.txt')).toBe('work\n');
    expect(existsSync(join(wt.path, '.git', 'index.lock'))).toBe(false);
  });

  it('two saves of one clone at once (the reclaim pass and the next attempt) both succeed, one after the other', async () => {
    const wt = await prepare(25);
    await writeFile(join(wt.path, 'work.txt'), 'work\n');

    const [a, b] = await Promise.all([commitWip(wt, 'WIP: reclaim'), commitWip(wt, 'WIP: next attempt')]);

    expect([a.committed, b.committed]).toEqual([true, false]);
    expect(b.commit).toBe(a.commit);
    expect(await fileAt(t.repo, wt.branch as string, 'work.txt')).toBe('work\n');
  });

  it('commitWip is a no-op on a clean worktree', async () => {
    const wt = await prepare(22);
    const result = await commitWip(wt, 'WIP');
    expect(result).toEqual({ committed: false, commit: wt.head, files: 0 });
    expect(await branchCommit(t.repo, wt.branch as string)).toBe(wt.head);
  });

  it('a failing pre-commit hook cannot stop the WIP commit', async () => {
    const hook = join(t.repo, '.git', 'hooks', 'pre-commit');
    await writeFile(hook, '#!/bin/sh\necho "hook says no" >&2\nexit 1\n', { mode: 0o755 });
    const wt = await prepare(23);
    await writeFile(join(wt.path, 'work.txt'), 'work\n');

    const result = await commitWip(wt, 'WIP despite hooks');

    expect(result.committed).toBe(true);
    expect(await fileAt(t.repo, wt.branch as string, 'work.txt')).toBe('work\n');
  });

  it('an unmerged branch is kept on removal, and the result says why', async () => {
    const wt = await prepare(24);
    await writeFile(join(wt.path, 'feature.ts'), 'feature\n');
    const wip = await commitWip(wt, 'WIP: feature');

    const result = await removeWorktree(wt, { branchMergedInto: 'main' });

    expect(result.branch?.deleted).toBe(false);
    expect(result.branch?.reason).toMatch(/1 commit\(s\) on it are not merged into main/);
    expect(await branchCommit(t.repo, wt.branch as string)).toBe(wip.commit);
  });

  it('a merged branch is deleted on removal', async () => {
    const wt = await prepare(25);
    await writeFile(join(wt.path, 'feature.ts'), 'feature\n');
    const wip = await commitWip(wt, 'WIP: feature');
    await git(t.repo, ['merge', '--quiet', '--no-ff', '-m', 'Merge task 25', wt.branch as string], { asAutodev: true });

    const result = await removeWorktree(wt, { branchMergedInto: 'main' });

    expect(result.branch).toMatchObject({ name: wt.branch, deleted: true });
    expect(await branchCommit(t.repo, wt.branch as string)).toBeNull();
    expect(await git(t.repo, ['merge-base', '--is-ancestor', wip.commit, 'main'])).toMatchObject({ exitCode: 0 });
  });

  it('changes made after the merge are saved and keep the branch', async () => {
    const wt = await prepare(26);
    await writeFile(join(wt.path, 'feature.ts'), 'feature\n');
    await commitWip(wt, 'WIP: feature');
    await git(t.repo, ['merge', '--quiet', '--ff-only', wt.branch as string]);
    await writeFile(join(wt.path, 'late.ts'), 'written after the merge\n');

    const result = await removeWorktree(wt, { branchMergedInto: 'main' });

    expect(result.wipCommit).not.toBeNull();
    expect(result.branch?.deleted).toBe(false);
    expect(await fileAt(t.repo, wt.branch as string, 'late.ts')).toBe('written after the merge\n');
  });

  it('a worktree whose directory is already gone is pruned and its branch kept', async () => {
    const wt = await prepare(27);
    await writeFile(join(wt.path, 'f.txt'), 'f\n');
    const wip = await commitWip(wt, 'WIP');
    await rm(wt.path, { recursive: true });

    const result = await removeWorktree(wt, { branchMergedInto: 'main' });

    expect(result.branch?.deleted).toBe(false);
    expect(await branchCommit(t.repo, wt.branch as string)).toBe(wip.commit);
    expect((await listWorktrees(t.repo)).map((entry) => entry.path)).not.toContain(wt.path);
  });

  it('a clone the agent left on a detached HEAD: its changes are saved into the task branch, nothing lost', async () => {
    const wt = await prepare(28);
    await git(wt.path, ['checkout', '--quiet', '--detach']);
    await writeFile(join(wt.path, 'orphan.txt'), 'would be lost\n');

    const result = await removeWorktree(wt);

    expect(existsSync(wt.path)).toBe(false);
    expect(await branchCommit(t.repo, wt.branch as string)).toBe(result.wipCommit);
    expect(await fileAt(t.repo, wt.branch as string, 'orphan.txt')).toBe('would be lost\n');
  });

  it('an agent that rewrote its branch: the branch takes the new history, the old head stays reachable', async () => {
    const wt = await prepare(29);
    await writeFile(join(wt.path, 'first.txt'), 'first\n');
    const first = await commitWip(wt, 'WIP: first');
    await git(wt.path, ['reset', '--quiet', '--hard', wt.head]);
    await writeFile(join(wt.path, 'second.txt'), 'second\n');

    const second = await commitWip(wt, 'WIP: second');

    expect(await branchCommit(t.repo, wt.branch as string)).toBe(second.commit);
    expect(await fileAt(t.repo, wt.branch as string, 'first.txt')).toBeNull();
    const kept = await gitOutput(t.repo, ['for-each-ref', '--format=%(objectname)', 'refs/autodev/replaced/']);
    expect(kept).toBe(first.commit);
  });
});

describe('the default branch is never deleted or rewritten', () => {
  it('a checkout on the default branch is never saved into it or deleted, even when "merged into" itself', async () => {
    await git(t.repo, ['checkout', '--quiet', '-b', 'develop']);
    const main = await branchCommit(t.repo, 'main');
    const path = join(t.root, 'main-checkout');
    await git(t.repo, ['worktree', 'add', '--quiet', path, 'main']);
    const onMain = {
      taskId: 30,
      repoPath: t.repo,
      gitCommonDir: join(t.repo, '.git'),
      path,
      branch: 'main',
      baseBranch: 'main',
      readOnly: false,
      head: main as string,
      resumed: false,
    };

    await expect(removeWorktree(onMain, { branchMergedInto: 'main' })).rejects.toMatchObject({
      code: 'BRANCH_PROTECTED',
    });
    expect(await branchCommit(t.repo, 'main')).toBe(main);
    expect(existsSync(path)).toBe(true);
  });

  it('WIP is never committed onto the default branch: removal refuses and keeps the changes', async () => {
    await git(t.repo, ['checkout', '--quiet', '-b', 'develop']);
    const main = await branchCommit(t.repo, 'main');
    const path = join(t.root, 'main-checkout');
    await git(t.repo, ['worktree', 'add', '--quiet', path, 'main']);
    await writeFile(join(path, 'dirty.txt'), 'dirty\n');
    const onMain = {
      taskId: 31,
      repoPath: t.repo,
      gitCommonDir: join(t.repo, '.git'),
      path,
      branch: 'main',
      baseBranch: 'develop',
      readOnly: false,
      head: main as string,
      resumed: false,
    };

    await expect(removeWorktree(onMain)).rejects.toMatchObject({ code: 'BRANCH_PROTECTED' });
    expect(await branchCommit(t.repo, 'main')).toBe(main);
    expect(await readFile(join(path, 'dirty.txt'), 'utf8')).toBe('dirty\n');
  });

  it('deleteMergedBranch refuses the default branch and branches Auto-Dev did not create', async () => {
    const { deleteMergedBranch } = await import('../../src/workspace/branches.js');
    await git(t.repo, ['branch', 'feature-by-a-human']);
    await git(t.repo, ['checkout', '--quiet', '-b', 'develop']);

    await expect(deleteMergedBranch(t.repo, 'main', 'main')).rejects.toMatchObject({ code: 'BRANCH_PROTECTED' });
    await expect(deleteMergedBranch(t.repo, 'main', 'develop')).rejects.toMatchObject({ code: 'BRANCH_PROTECTED' });
    await expect(deleteMergedBranch(t.repo, 'feature-by-a-human', 'main')).rejects.toMatchObject({
      code: 'BRANCH_PROTECTED',
    });
    expect(await branchCommit(t.repo, 'main')).not.toBeNull();
    expect(await branchCommit(t.repo, 'feature-by-a-human')).not.toBeNull();
  });

  it('deleteMergedBranch refuses a branch named as the remote default branch', async () => {
    const { deleteMergedBranch } = await import('../../src/workspace/branches.js');
    const origin = join(t.root, 'origin.git');
    await git(t.repo, ['branch', 'autodev/trunk']);
    await git(t.root, ['clone', '--quiet', '--bare', t.repo, origin]);
    await git(origin, ['symbolic-ref', 'HEAD', 'refs/heads/autodev/trunk']);
    const clone = join(t.root, 'clone');
    await git(t.root, ['clone', '--quiet', origin, clone]);
    await git(clone, ['branch', '--quiet', 'autodev/trunk-copy']);
    await git(clone, ['checkout', '--quiet', 'autodev/trunk-copy']);

    await expect(deleteMergedBranch(clone, 'autodev/trunk', 'main')).rejects.toMatchObject({
      code: 'BRANCH_PROTECTED',
    });
    expect(await branchCommit(clone, 'autodev/trunk')).not.toBeNull();
  });

  it('a whole task lifecycle leaves the default branch exactly where it was', async () => {
    const main = await branchCommit(t.repo, 'main');
    const wt = await prepare(32);
    await writeFile(join(wt.path, 'a.txt'), 'a\n');
    await removeWorktree(wt, { branchMergedInto: 'main' });
    const resumed = await prepare(32);
    await writeFile(join(resumed.path, 'b.txt'), 'b\n');
    await commitWip(resumed, 'WIP');
    await removeWorktree(resumed, { branchMergedInto: 'main' });

    expect(await branchCommit(t.repo, 'main')).toBe(main);
    expect(await gitOutput(t.repo, ['status', '--porcelain'])).toBe('');
    expect(await fileAt(t.repo, resumed.branch as string, 'a.txt')).toBe('a\n');
    expect(await fileAt(t.repo, resumed.branch as string, 'b.txt')).toBe('b\n');
  });

  it('the workspace code contains no force-push, hard reset, forced branch creation or forced deletion', async () => {
    const { readdir } = await import('node:fs/promises');
    const dir = join(import.meta.dirname, '..', '..', 'src', 'workspace');
    const forbidden = [/'push'/, /--force/, /'-f'/, /'-D'/, /'-B'/, /--hard/, /'reset'/, /'branch',\s*'-d'/];
    for (const file of await readdir(dir)) {
      const source = await readFile(join(dir, file), 'utf8');
      for (const pattern of forbidden) expect({ file, match: pattern.test(source) }).toEqual({ file, match: false });
    }
  });
});
