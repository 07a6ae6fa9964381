/**
 * @module One git worktree per task: a writable task works on its own `autodev/<id>-<slug>` branch; a reviewing role
 * gets a detached, read-only checkout. Cleanup never loses work: WIP is committed first, unmerged branches are kept.
 * Nothing here force-pushes, hard-resets, or deletes the default branch (test/workspace/worktrees.test.ts tries).
 */
import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AutodevError, isAutodevError } from '../errors.js';
import { TASK_BRANCH_PREFIX, taskBranchName, taskDirName } from './branch-names.js';
import { deleteMergedBranch, protectedBranches } from './branches.js';
import { setTreeWritable } from './file-modes.js';
import {
  currentBranch,
  git,
  gitOutput,
  isAncestor,
  listWorktrees,
  localBranchExists,
  resolveCommit,
  uncommittedChanges,
} from './git.js';

export interface Worktree {
  taskId: string | number;
  /** The repository's main checkout. */
  repoPath: string;
  /** The repository's shared `.git` directory (objects, refs), which git inside the worktree reads. */
  gitCommonDir: string;
  /** The worktree directory (absolute, symlinks resolved). */
  path: string;
  /** The task branch, or null for a read-only (detached) checkout. */
  branch: string | null;
  baseBranch: string;
  /**
   * A reviewing role's checkout. Enforced twice: every file and directory has its write bits cleared (stops any
   * non-root process, sandboxed or not), and in the sandbox it is mounted read-only (stops everyone, root included),
   * because only writable worktrees go in `writablePaths` (see `sandboxPathsFor`).
   */
  readOnly: boolean;
  /** The commit checked out when the worktree was prepared. */
  head: string;
  /** True when the task branch (or the worktree) already existed: earlier work continues, nothing was reset. */
  resumed: boolean;
}

export interface PrepareWorktreeOptions {
  repoPath: string;
  /** Where task worktrees live, one directory per task (`<baseDir>/task-<id>`). */
  baseDir: string;
  taskId: string | number;
  title: string;
  /** New task branches start here. */
  baseBranch: string;
  /** A detached, read-only checkout of `ref` for reviewer, security and bug_finder roles. */
  readOnly?: boolean;
  /** What a read-only checkout shows (default `baseBranch`), e.g. the builder's branch or an MR's head commit. */
  ref?: string;
  /** Where a task branch pushed by another worker is looked for when it does not exist locally (default `origin`). */
  remote?: string;
}

async function pathState(path: string): Promise<'missing' | 'empty-dir' | 'occupied'> {
  try {
    const info = await stat(path);
    if (info.isDirectory() && (await readdir(path)).length === 0) return 'empty-dir';
    return 'occupied';
  } catch {
    return 'missing';
  }
}

async function mainCheckout(repoPath: string): Promise<string> {
  const [main] = await listWorktrees(repoPath);
  if (!main) throw new AutodevError('GIT_FAILED', `${repoPath} has no main checkout`);
  return main.path;
}

/**
 * Gives a task its checkout, creating or reusing it. Writable: the task branch is reused when it exists (locally, or
 * on `remote` when another worker pushed it) so a resumed task continues with the commits already made; otherwise it
 * is created from `baseBranch`. An existing worktree is reused as it is, uncommitted changes included. Never resets,
 * never overwrites: a path or branch used by something else is a WORKTREE_CONFLICT.
 *
 * ### Example
 * ```ts
 * const wt = await prepareWorktree({ repoPath, baseDir, taskId: 42, title: 'Add login', baseBranch: 'main' });
 * // wt.branch === 'autodev/42-add-login', wt.path === `${baseDir}/task-42`
 * ```
 */
export async function prepareWorktree(options: PrepareWorktreeOptions): Promise<Worktree> {
  const repoPath = await mainCheckout(options.repoPath);
  const gitCommonDir = await realpath(
    await gitOutput(repoPath, ['rev-parse', '--path-format=absolute', '--git-common-dir']),
  );
  await mkdir(options.baseDir, { recursive: true });
  const path = join(await realpath(options.baseDir), taskDirName(options.taskId));
  const where = { repoPath, gitCommonDir, path };
  return options.readOnly ? prepareReadOnly(where, options) : prepareWritable(where, options);
}

interface Where {
  repoPath: string;
  gitCommonDir: string;
  path: string;
}

async function prepareWritable(where: Where, options: PrepareWorktreeOptions): Promise<Worktree> {
  const { repoPath, path } = where;
  const branch = await findTaskBranch(repoPath, options);
  const base = { ...where, taskId: options.taskId, branch, baseBranch: options.baseBranch, readOnly: false };
  const worktrees = await listWorktrees(repoPath);
  const atPath = worktrees.find((entry) => entry.path === path);
  if (atPath && !atPath.prunable) {
    if (atPath.branch !== branch) {
      throw new AutodevError(
        'WORKTREE_CONFLICT',
        `${path} is already a worktree on ${atPath.branch ?? 'a detached HEAD'}, not ${branch}; it was left as it is`,
      );
    }
    return { ...base, head: await gitOutput(path, ['rev-parse', 'HEAD']), resumed: true };
  }
  if (atPath?.prunable) await git(repoPath, ['worktree', 'prune']);
  const elsewhere = worktrees.find((entry) => entry.branch === branch && entry.path !== path && !entry.prunable);
  if (elsewhere) {
    throw new AutodevError('WORKTREE_CONFLICT', `branch ${branch} is already checked out at ${elsewhere.path}`);
  }
  if ((await pathState(path)) === 'occupied') {
    throw new AutodevError(
      'WORKTREE_CONFLICT',
      `${path} exists and is not a worktree of ${repoPath}; it was left as it is`,
    );
  }

  const remoteBranch = `refs/remotes/${options.remote ?? 'origin'}/${branch}`;
  const remoteCommit = await resolveCommit(repoPath, remoteBranch);
  let resumed = true;
  if (await localBranchExists(repoPath, branch)) {
    await fastForwardToRemote(repoPath, branch, remoteCommit);
    await git(repoPath, ['worktree', 'add', path, branch]);
  } else if (remoteCommit !== null) {
    await git(repoPath, ['worktree', 'add', '--track', '-b', branch, path, remoteBranch]);
  } else {
    resumed = false;
    const start = await resolveCommit(repoPath, options.baseBranch);
    if (start === null) {
      throw new AutodevError('VALIDATION_FAILED', `base branch ${options.baseBranch} does not exist in ${repoPath}`);
    }
    // `-b` (never `-B`): if the branch appeared meanwhile, git refuses instead of resetting it.
    await git(repoPath, ['worktree', 'add', '--no-track', '-b', branch, path, start]);
  }
  return { ...base, head: await gitOutput(path, ['rev-parse', 'HEAD']), resumed };
}

/**
 * The task's branch: `taskBranchName(id, title)`, unless the title changed since the branch was made. For numeric
 * ids (where `autodev/<id>-` cannot be the start of another task's branch) an existing branch of the same task, local
 * or on the remote, is found and continued; two candidates and none matching the title is a WORKTREE_CONFLICT.
 */
async function findTaskBranch(repoPath: string, options: PrepareWorktreeOptions): Promise<string> {
  const wanted = taskBranchName(options.taskId, options.title);
  if (!/^\d+$/.test(String(options.taskId))) return wanted;
  const prefix = `${TASK_BRANCH_PREFIX}${String(options.taskId)}-`;
  const remote = options.remote ?? 'origin';
  const listed = await gitOutput(repoPath, [
    'for-each-ref',
    '--format=%(refname)',
    `refs/heads/${prefix}*`,
    `refs/remotes/${remote}/${prefix}*`,
  ]);
  const candidates = new Set(
    listed
      .split('\n')
      .filter(Boolean)
      .map((ref) => ref.replace(/^refs\/heads\//, '').replace(`refs/remotes/${remote}/`, '')),
  );
  if (candidates.size === 0 || candidates.has(wanted)) return wanted;
  if (candidates.size === 1) return [...candidates][0] as string;
  throw new AutodevError(
    'WORKTREE_CONFLICT',
    `task ${String(options.taskId)} has several branches (${[...candidates].join(', ')}) and none is ${wanted}`,
  );
}

/**
 * When another worker pushed more commits to the task branch than this machine has, moves the local branch forward
 * to them. Only a fast-forward (the local commit must be an ancestor) and only if the branch is where we saw it
 * (compare-and-swap); a diverged branch is left alone, nothing is ever moved backwards.
 */
async function fastForwardToRemote(repoPath: string, branch: string, remoteCommit: string | null): Promise<void> {
  if (remoteCommit === null) return;
  const localCommit = await resolveCommit(repoPath, `refs/heads/${branch}`);
  if (localCommit === null || localCommit === remoteCommit) return;
  if (!(await isAncestor(repoPath, localCommit, remoteCommit))) return;
  await git(repoPath, [
    'update-ref',
    '-m',
    'autodev: fast-forward to the pushed task branch',
    `refs/heads/${branch}`,
    remoteCommit,
    localCommit,
  ]);
}

async function prepareReadOnly(where: Where, options: PrepareWorktreeOptions): Promise<Worktree> {
  const { repoPath, path } = where;
  const ref = options.ref ?? options.baseBranch;
  const commit = await resolveCommit(repoPath, ref);
  if (commit === null) throw new AutodevError('VALIDATION_FAILED', `${ref} does not exist in ${repoPath}`);
  const base = { ...where, taskId: options.taskId, branch: null, baseBranch: options.baseBranch, readOnly: true };
  const atPath = (await listWorktrees(repoPath)).find((entry) => entry.path === path);
  if (atPath && !atPath.prunable) {
    if (atPath.branch !== null) {
      throw new AutodevError(
        'WORKTREE_CONFLICT',
        `${path} is a writable worktree on ${atPath.branch}; it was left as it is`,
      );
    }
    if (atPath.head !== commit) {
      if ((await uncommittedChanges(path)).length > 0) {
        throw new AutodevError('WORKTREE_DIRTY', `read-only checkout ${path} has changes; it was left as it is`);
      }
      await setTreeWritable(path, true);
      await git(path, ['checkout', '--quiet', '--detach', commit]);
    }
    await setTreeWritable(path, false);
    return { ...base, head: commit, resumed: true };
  }
  if (atPath?.prunable) await git(repoPath, ['worktree', 'prune']);
  if ((await pathState(path)) === 'occupied') {
    throw new AutodevError(
      'WORKTREE_CONFLICT',
      `${path} exists and is not a worktree of ${repoPath}; it was left as it is`,
    );
  }
  await git(repoPath, ['worktree', 'add', '--detach', path, commit]);
  await setTreeWritable(path, false);
  return { ...base, head: commit, resumed: false };
}

/**
 * The sandbox mounts for a worktree: writable for a task's own worktree, read-only for a reviewing role's. The
 * repository's `.git` is shown read-only (even under /tmp or a hidden dir) so `git status`, `diff` and `log` work
 * inside, while commits, branch moves and ref edits fail: Auto-Dev commits the agent's work itself (`commitWip`).
 */
export function sandboxPathsFor(worktree: Worktree): { writablePaths: string[]; readOnlyPaths: string[] } {
  return worktree.readOnly
    ? { writablePaths: [], readOnlyPaths: [worktree.gitCommonDir, worktree.path] }
    : { writablePaths: [worktree.path], readOnlyPaths: [worktree.gitCommonDir] };
}

export interface WipCommit {
  committed: boolean;
  /** HEAD after the call: the new WIP commit, or the unchanged HEAD when there was nothing to commit. */
  commit: string;
  /** How many paths the WIP commit saved. */
  files: number;
}

/**
 * Commits every uncommitted change in a task's worktree (modified, deleted and untracked files; .gitignore
 * respected) as one commit by Auto-Dev; a no-op when clean. Hooks are skipped (`--no-verify`) so a failing pre-commit
 * hook cannot stop work from being saved. Refuses (throws) on a detached HEAD, on a branch other than the task's, on
 * a protected branch, and on a read-only checkout with changes.
 *
 * ### Example
 * ```ts
 * await commitWip(wt, 'WIP: builder session ended (task 42)');
 * ```
 */
export async function commitWip(worktree: Worktree, message: string): Promise<WipCommit> {
  const changes = await uncommittedChanges(worktree.path);
  const head = async () => gitOutput(worktree.path, ['rev-parse', 'HEAD']);
  if (worktree.readOnly) {
    if (changes.length > 0) {
      throw new AutodevError('WORKTREE_DIRTY', `read-only checkout ${worktree.path} has changes; it was left as it is`);
    }
    return { committed: false, commit: await head(), files: 0 };
  }
  const branch = await currentBranch(worktree.path);
  if (branch === null || branch !== worktree.branch) {
    throw new AutodevError(
      'WORKTREE_CONFLICT',
      `${worktree.path} is on ${branch ?? 'a detached HEAD'}, not ${String(worktree.branch)}: ` +
        'the WIP commit was not made and the worktree was left as it is',
    );
  }
  if (changes.length === 0) return { committed: false, commit: await head(), files: 0 };
  const protectedNames = await protectedBranches(worktree.repoPath, [worktree.baseBranch]);
  if (protectedNames.has(branch)) {
    throw new AutodevError('BRANCH_PROTECTED', `refusing to commit WIP onto ${branch}; the worktree was left as it is`);
  }
  await git(worktree.path, ['add', '--all']);
  await git(worktree.path, ['commit', '--quiet', '--no-verify', '--allow-empty', '-m', message], { asAutodev: true });
  return { committed: true, commit: await head(), files: changes.length };
}

export interface RemoveWorktreeResult {
  path: string;
  /** The WIP commit that saved uncommitted changes, or null when the worktree was clean. */
  wipCommit: string | null;
  branch: {
    name: string;
    deleted: boolean;
    /** Why the branch was kept or deleted, in words for the log and the dashboard. */
    reason: string;
  } | null;
}

/**
 * Removes a task's worktree without losing anything: commits WIP first (throwing, with nothing removed, if that is
 * impossible), removes the directory with plain `git worktree remove` (git itself refuses a dirty tree), and deletes
 * the branch only if `branchMergedInto` is given and every commit on it is merged there (see `deleteMergedBranch`).
 * A kept branch is reported in `branch.reason`. A read-only checkout is removed only if nobody changed it.
 *
 * ### Example
 * ```ts
 * const result = await removeWorktree(wt, { branchMergedInto: 'main' });
 * if (!result.branch?.deleted) log.info(result.branch?.reason);
 * ```
 */
export async function removeWorktree(
  worktree: Worktree,
  options: { branchMergedInto?: string } = {},
): Promise<RemoveWorktreeResult> {
  const exists = (await pathState(worktree.path)) !== 'missing';
  let wipCommit: string | null = null;
  if (!exists) {
    await git(worktree.repoPath, ['worktree', 'prune']);
  } else if (worktree.readOnly) {
    if ((await uncommittedChanges(worktree.path)).length > 0) {
      throw new AutodevError('WORKTREE_DIRTY', `read-only checkout ${worktree.path} has changes; it was left as it is`);
    }
    await setTreeWritable(worktree.path, true);
    try {
      await git(worktree.repoPath, ['worktree', 'remove', worktree.path]);
    } catch (error) {
      await setTreeWritable(worktree.path, false);
      throw error;
    }
  } else {
    const wip = await commitWip(
      worktree,
      `WIP: saved by Auto-Dev before removing the worktree of task ${worktree.taskId}`,
    );
    if (wip.committed) wipCommit = wip.commit;
    const left = await uncommittedChanges(worktree.path);
    if (left.length > 0) {
      throw new AutodevError('WORKTREE_DIRTY', `${worktree.path} still has changes after the WIP commit; it was kept`, {
        changes: left,
      });
    }
    await git(worktree.repoPath, ['worktree', 'remove', worktree.path]);
  }
  if (worktree.branch === null) return { path: worktree.path, wipCommit, branch: null };
  return { path: worktree.path, wipCommit, branch: await settleBranch(worktree, options.branchMergedInto) };
}

async function settleBranch(
  worktree: Worktree,
  mergedInto: string | undefined,
): Promise<NonNullable<RemoveWorktreeResult['branch']>> {
  const name = worktree.branch as string;
  if (mergedInto === undefined) {
    return { name, deleted: false, reason: `branch ${name} was kept: no merge target was given` };
  }
  try {
    const deleted = await deleteMergedBranch(worktree.repoPath, name, mergedInto, { protect: [worktree.baseBranch] });
    return deleted
      ? { name, deleted: true, reason: `branch ${name} was deleted: all its commits are in ${mergedInto}` }
      : { name, deleted: false, reason: `branch ${name} does not exist` };
  } catch (error) {
    if (isAutodevError(error) && error.code !== 'GIT_FAILED') return { name, deleted: false, reason: error.message };
    throw error;
  }
}
