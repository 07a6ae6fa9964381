/**
 * @module Throwaway gate checkouts left by a killed process (real git worktrees, a real dead pid): the sweep removes
 * those whose owner is gone and prunes them from the repository's worktree list; a live owner's checkout and other
 * directories are left alone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepOrphanCheckouts } from '../../src/gates/checkout-command.js';
import { git } from '../../src/workspace/git.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync('true');
  if (child.pid === undefined) throw new Error('could not start `true`');
  return child.pid;
}

describe('sweeping orphaned gate checkouts', () => {
  let repo: TestRepo;
  let tmpDir: string;

  beforeEach(async () => {
    repo = await makeRepo();
    tmpDir = path.join(repo.root, 'tmp');
    await fs.mkdir(tmpDir);
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  /** A scratch directory named as `runInCheckout` names it, with a detached worktree checkout inside. */
  async function checkoutOwnedBy(pid: number, suffix: string): Promise<string> {
    const scratch = path.join(tmpDir, `autodev-checkout-${pid}-${suffix}`);
    await fs.mkdir(scratch);
    await git(repo.repo, ['worktree', 'add', '--quiet', '--detach', path.join(scratch, 'checkout'), 'HEAD']);
    return scratch;
  }
  const worktrees = async () =>
    (await git(repo.repo, ['worktree', 'list', '--porcelain'])).stdout
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));

  it("removes a dead owner's checkouts and their worktree entries, keeps a live owner's and other directories", async () => {
    const dead = deadPid();
    const orphan = await checkoutOwnedBy(dead, 'aaaaaa');
    const live = await checkoutOwnedBy(process.pid, 'bbbbbb');
    // Killed between creating the scratch directory and adding the worktree.
    const empty = path.join(tmpDir, `autodev-checkout-${dead}-cccccc`);
    await fs.mkdir(empty);
    const unrelated = path.join(tmpDir, 'autodev-checkout-not-a-pid');
    await fs.mkdir(unrelated);
    expect(await worktrees()).toHaveLength(3);

    const removed = await sweepOrphanCheckouts(tmpDir);

    expect(removed.sort()).toEqual([orphan, empty].sort());
    expect((await fs.readdir(tmpDir)).sort()).toEqual([path.basename(live), path.basename(unrelated)].sort());
    const left = await worktrees();
    expect(left).toHaveLength(2);
    expect(left.some((w) => w.startsWith(orphan))).toBe(false);
    expect(left.some((w) => w.startsWith(live))).toBe(true);
    // Nothing left to sweep the second time.
    expect(await sweepOrphanCheckouts(tmpDir)).toEqual([]);
  });

  it('removes the checkout even when its repository is gone', async () => {
    const orphan = await checkoutOwnedBy(deadPid(), 'dddddd');
    await fs.rm(repo.repo, { recursive: true, force: true });
    expect(await sweepOrphanCheckouts(tmpDir)).toEqual([orphan]);
    expect(await fs.readdir(tmpDir)).toEqual([]);
  });
});
