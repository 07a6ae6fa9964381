import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, gitEnvironment, gitOutput, parseWorktreeList } from '../../src/workspace/git.js';
import { makeRepo, type TestRepo } from './git-fixtures.js';

let t: TestRepo;

beforeEach(async () => {
  t = await makeRepo();
});

afterEach(async () => {
  await t.cleanup();
});

describe('git', () => {
  it('a failure names the command, the exit code and stderr', async () => {
    const failure = git(t.repo, ['checkout', 'no-such-branch']);
    await expect(failure).rejects.toMatchObject({ code: 'GIT_FAILED' });
    await expect(failure).rejects.toThrow(
      /git checkout no-such-branch \(in .*\) failed with exit code 1: error: pathspec 'no-such-branch'/,
    );
  });

  it('treats the listed exit codes as answers', async () => {
    const result = await git(t.repo, ['merge-base', '--is-ancestor', 'HEAD', 'HEAD~0'], { okExitCodes: [1] });
    expect(result.exitCode).toBe(0);
  });

  it('commits as Auto-Dev without any global identity', async () => {
    await git(t.repo, ['commit', '--quiet', '--allow-empty', '-m', 'empty'], {
      asAutodev: true,
      env: { PATH: process.env.PATH, HOME: t.root },
    });
    expect(await gitOutput(t.repo, ['log', '-1', '--format=%an <%ae>'])).toBe('Auto-Dev <autodev@localhost>');
  });

  it('ignores GIT_DIR and GIT_WORK_TREE inherited from a git hook', async () => {
    const env = { ...process.env, GIT_DIR: '/nonexistent/.git', GIT_WORK_TREE: '/nonexistent' };
    expect(gitEnvironment(env).GIT_DIR).toBeUndefined();
    expect(await gitOutput(t.repo, ['rev-parse', '--abbrev-ref', 'HEAD'], { env })).toBe('main');
  });
});

describe('parseWorktreeList', () => {
  it('reads the porcelain listing', () => {
    const output = [
      'worktree /repo',
      'HEAD 1111111111111111111111111111111111111111',
      'branch refs/heads/main',
      '',
      'worktree /wt/task-1',
      'HEAD 2222222222222222222222222222222222222222',
      'branch refs/heads/autodev/1-x',
      '',
      'worktree /wt/review',
      'HEAD 3333333333333333333333333333333333333333',
      'detached',
      'prunable gitdir file points to non-existent location',
      '',
      '',
    ].join('\0');
    expect(parseWorktreeList(output)).toEqual([
      { path: '/repo', head: '1'.repeat(40), branch: 'main', bare: false, prunable: false },
      { path: '/wt/task-1', head: '2'.repeat(40), branch: 'autodev/1-x', bare: false, prunable: false },
      { path: '/wt/review', head: '3'.repeat(40), branch: null, bare: false, prunable: true },
    ]);
  });
});
