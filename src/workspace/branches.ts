/**
 * @module Which branches Auto-Dev must never touch, and the one way it deletes a branch: only an `autodev/` branch
 * whose commits are all in the target branch (`git merge-base --is-ancestor`), deleted only if it has not moved since.
 */
import { AutodevError } from '../errors.js';
import { TASK_BRANCH_PREFIX } from './branch-names.js';
import { git, gitOutput, isAncestor, listWorktrees, resolveCommit } from './git.js';

/**
 * The default branch and its usual names: `main`, `master`, the branch checked out in the main checkout, every
 * remote's HEAD (`origin/HEAD` -> `main`), `init.defaultBranch`, plus `extra` (e.g. the task's base branch).
 */
export async function protectedBranches(repoPath: string, extra: readonly string[] = []): Promise<Set<string>> {
  const names = new Set<string>(['main', 'master', ...extra]);
  const [mainCheckout] = await listWorktrees(repoPath);
  if (mainCheckout?.branch) names.add(mainCheckout.branch);
  const configured = await git(repoPath, ['config', '--get', 'init.defaultBranch'], { okExitCodes: [1] });
  if (configured.exitCode === 0 && configured.stdout.trim()) names.add(configured.stdout.trim());
  const remoteHeads = await gitOutput(repoPath, ['for-each-ref', '--format=%(symref:lstrip=3)', 'refs/remotes/*/HEAD']);
  for (const name of remoteHeads.split('\n')) if (name.trim()) names.add(name.trim());
  return names;
}

export interface DeletedBranch {
  branch: string;
  /** The commit the branch pointed at (still reachable from the target branch). */
  commit: string;
}

/**
 * Deletes `branch` only when all of these hold, and throws otherwise (deleting nothing):
 * it is an `autodev/` branch and not protected (BRANCH_PROTECTED); every commit on it is in `mergedInto`
 * (BRANCH_NOT_MERGED); no worktree has it checked out (WORKTREE_CONFLICT). The delete is compare-and-swap
 * (`git update-ref -d ref <commit>`), so a commit landing between the check and the delete keeps the branch.
 * Returns null when the branch does not exist.
 *
 * ### Example
 * ```ts
 * await deleteMergedBranch(repo, 'autodev/42-add-login', 'main', { protect: ['main'] });
 * ```
 */
export async function deleteMergedBranch(
  repoPath: string,
  branch: string,
  mergedInto: string,
  options: { protect?: readonly string[] } = {},
): Promise<DeletedBranch | null> {
  const protectedNames = await protectedBranches(repoPath, [mergedInto, ...(options.protect ?? [])]);
  if (!branch.startsWith(TASK_BRANCH_PREFIX) || protectedNames.has(branch)) {
    throw new AutodevError(
      'BRANCH_PROTECTED',
      `branch ${branch} was kept: Auto-Dev deletes only its own ${TASK_BRANCH_PREFIX} branches, never the default or base branch`,
    );
  }
  const commit = await resolveCommit(repoPath, `refs/heads/${branch}`);
  if (commit === null) return null;
  const target = await resolveCommit(repoPath, mergedInto);
  if (target === null) {
    throw new AutodevError('BRANCH_NOT_MERGED', `branch ${branch} was kept: ${mergedInto} does not exist`);
  }
  if (!(await isAncestor(repoPath, commit, target))) {
    const ahead = await gitOutput(repoPath, ['rev-list', '--count', `${target}..${commit}`]);
    throw new AutodevError(
      'BRANCH_NOT_MERGED',
      `branch ${branch} was kept: ${ahead} commit(s) on it are not merged into ${mergedInto}`,
      { branch, commit, mergedInto, unmergedCommits: Number(ahead) },
    );
  }
  const checkedOut = (await listWorktrees(repoPath)).find((entry) => entry.branch === branch && !entry.prunable);
  if (checkedOut) {
    throw new AutodevError('WORKTREE_CONFLICT', `branch ${branch} was kept: it is checked out at ${checkedOut.path}`);
  }
  await git(repoPath, ['update-ref', '-d', `refs/heads/${branch}`, commit]);
  return { branch, commit };
}
