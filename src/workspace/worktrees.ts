/**
 * @module One checkout per task. A writable task gets its own clone (objects shared with the repository through
 * `--shared` alternates) on its `autodev/<id>-<slug>` branch: the agent runs `git add`, `commit`, `log` there as it
 * would anywhere, and no commit of its can touch another branch of the repository. The agent controls that clone
 * (its config, hooks, even its `.git`), so Auto-Dev never runs git in it outside the sandbox: `commitWip` saves
 * uncommitted work and bundles the branch INSIDE the sandbox, then fetches the bundle into the repository (a bundle
 * is data; the repository's own config applies) and moves the task branch. A reviewing role gets a detached
 * worktree of the repository, read-only. Cleanup never loses work: WIP is saved first, unmerged branches are kept.
 * Nothing here force-pushes, hard-resets, or deletes the default branch (test/workspace/worktrees.test.ts tries).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AutodevError, isAutodevError } from '../errors.js';
import { TASK_BRANCH_PREFIX, taskBranchName, taskDirName } from './branch-names.js';
import { deleteMergedBranch, protectedBranches } from './branches.js';
import { setTreeWritable } from './file-modes.js';
import {
  AUTODEV_GIT_IDENTITY,
  git,
  gitOutput,
  isAncestor,
  listWorktrees,
  localBranchExists,
  resolveCommit,
  uncommittedChanges,
} from './git.js';
import { runSandboxed, type SandboxMode } from './sandbox.js';

export interface Worktree {
  taskId: string | number;
  /** The repository's main checkout. */
  repoPath: string;
  /**
   * The repository's `.git` directory (objects, refs): git inside a read-only worktree reads it, and a task clone
   * borrows its objects. Mounted read-only in the sandbox.
   */
  gitCommonDir: string;
  /** The checkout directory (absolute, symlinks resolved): a task clone, or a read-only worktree. */
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
  /** The commit checked out when the checkout was prepared (a task clone's bundles start after it). */
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
 * Gives a task its checkout. Writable: a fresh clone on the task branch, which is reused when it exists (locally, or
 * on `remote` when another worker pushed it) so a resumed task continues with the commits already made; otherwise it
 * is created from `baseBranch`. An earlier attempt's clone is saved first (`commitWip`, sandboxed with `save`), so
 * its uncommitted work continues as a WIP commit. A read-only checkout is reused. Never resets, never overwrites:
 * a path used by something else is a WORKTREE_CONFLICT.
 *
 * ### Example
 * ```ts
 * const wt = await prepareWorktree({ repoPath, baseDir, taskId: 42, title: 'Add login', baseBranch: 'main' });
 * // wt.branch === 'autodev/42-add-login', wt.path === `${baseDir}/task-42`
 * ```
 */
export function prepareWorktree(options: PrepareWorktreeOptions, save?: SaveOptions): Promise<Worktree> {
  return withRepositoryLock(options.repoPath, () => prepareCheckout(options, save));
}

/**
 * One checkout change per repository at a time in this process: git's worktree bookkeeping is not safe against a
 * `worktree add` racing a `worktree list` ("failed to read .git/worktrees/.../commondir").
 */
const repositoryLocks = new Map<string, Promise<unknown>>();

async function withRepositoryLock<T>(repoPath: string, work: () => Promise<T>): Promise<T> {
  const key = await realpath(repoPath).catch(() => repoPath);
  const previous = repositoryLocks.get(key) ?? Promise.resolve();
  const run = previous.then(work, work);
  const settled = run.catch(() => undefined);
  repositoryLocks.set(key, settled);
  void settled.then(() => {
    if (repositoryLocks.get(key) === settled) repositoryLocks.delete(key);
  });
  return run;
}

/** The repository's main checkout and its `.git` directory (absolute, symlinks resolved). */
async function repositoryDirs(path: string): Promise<{ repoPath: string; gitCommonDir: string }> {
  const repoPath = await mainCheckout(path);
  const gitCommonDir = await realpath(
    await gitOutput(repoPath, ['rev-parse', '--path-format=absolute', '--git-common-dir']),
  );
  return { repoPath, gitCommonDir };
}

async function prepareCheckout(options: PrepareWorktreeOptions, save?: SaveOptions): Promise<Worktree> {
  const { repoPath, gitCommonDir } = await repositoryDirs(options.repoPath);
  await mkdir(options.baseDir, { recursive: true });
  const path = join(await realpath(options.baseDir), taskDirName(options.taskId));
  const where = { repoPath, gitCommonDir, path };
  return options.readOnly ? prepareReadOnly(where, options) : prepareWritable(where, options, save);
}

interface Where {
  repoPath: string;
  gitCommonDir: string;
  path: string;
}

/**
 * What Auto-Dev knows of a task clone, kept beside it (`task-<id>.json`) where the agent cannot write. `state`
 * covers a process killed (SIGKILL, a lost machine) while it made or removed the clone: `preparing` is written before
 * the clone is made and dropped once it is ready, `removing` after its work was saved and before it is deleted; either
 * way no agent's unsaved work is in the directory, and the next attempt deletes what is left of it.
 */
interface CloneRecord {
  branch: string;
  head: string;
  state?: 'preparing' | 'removing';
}

function cloneRecordPath(path: string): string {
  return `${path}.json`;
}

async function readCloneRecord(path: string): Promise<CloneRecord | null> {
  try {
    const value = JSON.parse(await readFile(cloneRecordPath(path), 'utf8')) as Partial<CloneRecord>;
    if (typeof value.branch !== 'string' || typeof value.head !== 'string') return null;
    const state = value.state === 'preparing' || value.state === 'removing' ? value.state : undefined;
    return { branch: value.branch, head: value.head, ...(state ? { state } : {}) };
  } catch {
    return null;
  }
}

async function prepareWritable(
  where: Where,
  options: PrepareWorktreeOptions,
  save: SaveOptions | undefined,
): Promise<Worktree> {
  const { repoPath, path } = where;
  const branch = await findTaskBranch(repoPath, options);
  const base = { ...where, taskId: options.taskId, branch, baseBranch: options.baseBranch, readOnly: false };
  const state = await pathState(path);
  if (state === 'occupied') {
    const record = await readCloneRecord(path);
    if (record === null || record.branch !== branch) {
      throw new AutodevError(
        'WORKTREE_CONFLICT',
        `${path} exists and is not Auto-Dev's clone for ${branch}; it was left as it is`,
      );
    }
    if (record.state !== undefined) {
      // Left half made (or half removed) by a killed process: no agent worked in it, nothing to save.
      await removeCloneDirectory(path);
    } else {
      // An earlier attempt's clone: its work is saved into the task branch (in the sandbox) before it is replaced.
      await removeClone({ ...base, head: record.head, resumed: true }, save);
    }
  } else if (state === 'empty-dir') {
    await rm(path, { recursive: true });
  }

  const remoteBranch = `refs/remotes/${options.remote ?? 'origin'}/${branch}`;
  const remoteCommit = await resolveCommit(repoPath, remoteBranch);
  let resumed = true;
  if (await localBranchExists(repoPath, branch)) {
    await fastForwardToRemote(repoPath, branch, remoteCommit);
  } else if (remoteCommit !== null) {
    await git(repoPath, ['branch', '--track', branch, remoteBranch]);
  } else {
    resumed = false;
    const start = await resolveCommit(repoPath, options.baseBranch);
    if (start === null) {
      throw new AutodevError('VALIDATION_FAILED', `base branch ${options.baseBranch} does not exist in ${repoPath}`);
    }
    // Never `-f`: if the branch appeared meanwhile, git refuses instead of resetting it.
    await git(repoPath, ['branch', '--no-track', branch, start]);
  }
  const head = await gitOutput(repoPath, ['rev-parse', '--verify', `refs/heads/${branch}^{commit}`]);
  // A fresh clone, made from the repository (trusted) before the agent ever sees it; recorded as `preparing` until
  // it is ready, so a process killed meanwhile leaves a directory the next attempt knows it may delete.
  await writeFile(cloneRecordPath(path), JSON.stringify({ branch, head, state: 'preparing' } satisfies CloneRecord));
  await git(repoPath, ['clone', '--quiet', '--shared', '--no-checkout', '--no-tags', repoPath, path]);
  await git(path, ['checkout', '--quiet', '-b', branch, head]);
  await git(path, ['config', 'user.name', `Auto-Dev agent (task ${String(options.taskId)})`]);
  await git(path, ['config', 'user.email', AUTODEV_GIT_IDENTITY.email]);
  await git(path, ['config', 'commit.gpgsign', 'false']);
  await writeFile(cloneRecordPath(path), JSON.stringify({ branch, head } satisfies CloneRecord));
  return { ...base, head, resumed };
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
 * The sandbox mounts for a checkout: a task's clone writable (its own `.git` included, so the agent commits), a
 * reviewing role's worktree read-only. The repository's `.git` is shown read-only (even under /tmp or a hidden dir):
 * a clone borrows its objects, a read-only worktree reads everything from it.
 */
export function sandboxPathsFor(worktree: Worktree): { writablePaths: string[]; readOnlyPaths: string[] } {
  return worktree.readOnly
    ? { writablePaths: [], readOnlyPaths: [worktree.gitCommonDir, worktree.path] }
    : { writablePaths: [worktree.path], readOnlyPaths: [worktree.gitCommonDir] };
}

export interface WipCommit {
  committed: boolean;
  /** The task branch's head after the call: the new WIP commit, or the unchanged head when there was nothing new. */
  commit: string;
  /** How many paths the WIP commit saved (as counted inside the sandbox). */
  files: number;
}

/** How the save of a task clone runs: in the same sandbox as the agent (`sandbox.mode`), with the same paths hidden. */
export interface SaveOptions {
  mode: SandboxMode;
  hiddenPaths?: readonly string[];
  bwrapPath?: string;
  timeoutMs?: number;
}

const DEFAULT_SAVE: SaveOptions = { mode: 'bubblewrap' };

/**
 * Runs inside the sandbox, in the clone, as the agent could: stage and commit everything (hooks skipped), then
 * bundle what the branch has beyond the clone's start. Its inputs come from the environment, never from the clone.
 * A save runs when no session works in the clone any more, so an index lock is one a killed session's git (the
 * agent's, or the CLI's own `git status`) left behind: it gets two seconds to go away, then it is removed (in the
 * sandbox, so only the clone is touched).
 */
const SAVE_SCRIPT = `set -eu
lock="$(git rev-parse --git-path index.lock)"
i=0
while [ -e "$lock" ] && [ "$i" -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
rm -f "$lock"
git add --all
git diff --cached --name-only -z | tr -cd '\\000' | wc -c > "$AUTODEV_OUT/files"
if ! git diff --cached --quiet; then
  git -c user.name="$AUTODEV_NAME" -c user.email="$AUTODEV_EMAIL" -c commit.gpgsign=false \\
    commit --quiet --no-verify -m "$AUTODEV_MESSAGE"
  echo yes > "$AUTODEV_OUT/committed"
fi
git rev-parse --verify 'HEAD^{commit}' > "$AUTODEV_OUT/head"
if [ "$(cat "$AUTODEV_OUT/head")" != "$AUTODEV_START" ]; then
  git bundle create "$AUTODEV_OUT/task.bundle" HEAD "^$AUTODEV_START" 2>"$AUTODEV_OUT/bundle.err" || true
fi
`;

/**
 * Saves a task's work into the repository's task branch without ever running git in the agent's clone outside the
 * sandbox: uncommitted changes (modified, deleted, untracked; .gitignore respected) become one WIP commit named by
 * `message`, and everything the clone's HEAD holds beyond its start is fetched from a bundle into the repository,
 * which then moves the task branch (a fast-forward, or, when the agent rewrote its branch, with the old head kept
 * under `refs/autodev/replaced/`). A no-op for a clean clone with nothing new. A read-only checkout must be
 * unchanged (WORKTREE_DIRTY otherwise).
 *
 * ### Example
 * ```ts
 * await commitWip(wt, 'WIP: builder session ended (task 42)', { mode: 'bubblewrap', hiddenPaths });
 * ```
 */
export async function commitWip(
  worktree: Worktree,
  message: string,
  save: SaveOptions = DEFAULT_SAVE,
): Promise<WipCommit> {
  // One save of a clone at a time in this process: the reclaim pass saving a lost attempt and the next attempt taking
  // the clone over may both save it, and two `git add` in one clone collide on its index lock.
  const before = savesInProgress.get(worktree.path) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => saveClone(worktree, message, save));
  const settled = mine.catch(() => undefined);
  savesInProgress.set(worktree.path, settled);
  try {
    return await mine;
  } finally {
    if (savesInProgress.get(worktree.path) === settled) savesInProgress.delete(worktree.path);
  }
}

/** The save running (or last queued) per clone path. */
const savesInProgress = new Map<string, Promise<unknown>>();

async function saveClone(worktree: Worktree, message: string, save: SaveOptions): Promise<WipCommit> {
  if (worktree.readOnly) {
    if ((await uncommittedChanges(worktree.path)).length > 0) {
      throw new AutodevError('WORKTREE_DIRTY', `read-only checkout ${worktree.path} has changes; it was left as it is`);
    }
    return { committed: false, commit: await gitOutput(worktree.path, ['rev-parse', 'HEAD']), files: 0 };
  }
  const branch = worktree.branch as string;
  const protectedNames = await protectedBranches(worktree.repoPath, [worktree.baseBranch]);
  if (protectedNames.has(branch)) {
    throw new AutodevError('BRANCH_PROTECTED', `refusing to save work onto ${branch}; the clone was left as it is`);
  }
  const out = await mkdtemp(join(dirname(worktree.path), `.save-task-${String(worktree.taskId)}-`));
  try {
    const result = await runSandboxed({
      mode: save.mode,
      command: 'sh',
      args: ['-c', SAVE_SCRIPT],
      cwd: worktree.path,
      writablePaths: [worktree.path, out],
      readOnlyPaths: [worktree.gitCommonDir],
      hiddenPaths: save.hiddenPaths ?? [],
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: out,
        LC_ALL: 'C',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        AUTODEV_OUT: out,
        AUTODEV_START: worktree.head,
        AUTODEV_MESSAGE: message,
        AUTODEV_NAME: AUTODEV_GIT_IDENTITY.name,
        AUTODEV_EMAIL: AUTODEV_GIT_IDENTITY.email,
      },
      allowEnv: [
        'GIT_CONFIG_NOSYSTEM',
        'GIT_TERMINAL_PROMPT',
        'AUTODEV_OUT',
        'AUTODEV_START',
        'AUTODEV_MESSAGE',
        'AUTODEV_NAME',
        'AUTODEV_EMAIL',
      ],
      network: false,
      timeoutMs: save.timeoutMs ?? 120_000,
      ...(save.bwrapPath ? { bwrapPath: save.bwrapPath } : {}),
    });
    if (result.exitCode !== 0) {
      throw new AutodevError(
        'GIT_FAILED',
        `saving the work of task ${String(worktree.taskId)} in ${worktree.path} failed ` +
          `(exit ${String(result.exitCode)}): ${result.stderr.trim().slice(-500)}; the clone was left as it is`,
      );
    }
    const committed = (await readSmallFile(join(out, 'committed'))) === 'yes';
    const files = Number.parseInt(await readSmallFile(join(out, 'files')), 10) || 0;
    const head = await readSmallFile(join(out, 'head'));
    if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(head)) {
      throw new AutodevError('GIT_FAILED', `the clone of task ${String(worktree.taskId)} reported no valid HEAD`);
    }
    const commit = await importHead(worktree, branch, head, join(out, 'task.bundle'));
    return { committed, commit, files: committed ? files : 0 };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * What the sandboxed save wrote, read as untrusted: only a regular file (a symlink planted by the agent's hooks could
 * point at a host file or at /dev/zero), opened without following links, at most 200 bytes.
 */
async function readSmallFile(path: string): Promise<string> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    if (!(await file.stat()).isFile()) return '';
    const buffer = Buffer.alloc(200);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trim();
  } finally {
    await file.close();
  }
}

/** Whether the save left a bundle: a regular file, never a link to something on the host. */
async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Moves the repository's task branch to the clone's HEAD, fetching the commits from the bundle the sandbox wrote.
 * Git reads the bundle as data (objects checked with fsck); nothing of the clone's configuration applies.
 */
async function importHead(worktree: Worktree, branch: string, head: string, bundle: string): Promise<string> {
  const repo = worktree.repoPath;
  const current = await resolveCommit(repo, `refs/heads/${branch}`);
  if (head === current) return head;
  const incoming = `refs/autodev/incoming/task-${String(worktree.taskId)}`;
  if (await isRegularFile(bundle)) {
    await git(repo, [
      '-c',
      'fetch.fsckObjects=true',
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-write-fetch-head',
      '--no-recurse-submodules',
      bundle,
      `+HEAD:${incoming}`,
    ]);
    const fetched = await resolveCommit(repo, incoming);
    await git(repo, ['update-ref', '-d', incoming]);
    if (fetched !== head) {
      throw new AutodevError('GIT_FAILED', `the bundle of task ${String(worktree.taskId)} does not hold its HEAD`);
    }
  } else if ((await resolveCommit(repo, head)) === null) {
    throw new AutodevError('GIT_FAILED', `task ${String(worktree.taskId)}: HEAD ${head} is not in ${repo}`);
  }
  if (current !== null && !(await isAncestor(repo, current, head))) {
    // The agent rewrote its branch: the old head stays reachable, nothing is lost.
    await git(repo, [
      'update-ref',
      `refs/autodev/replaced/task-${String(worktree.taskId)}-${current.slice(0, 12)}`,
      current,
    ]);
  }
  await git(repo, [
    'update-ref',
    '-m',
    `autodev: task ${String(worktree.taskId)} saved`,
    `refs/heads/${branch}`,
    head,
    current ?? '',
  ]);
  return head;
}

/** Saves a task clone's work into the task branch, then deletes the clone (and its record). */
async function removeClone(worktree: Worktree, save: SaveOptions | undefined): Promise<string | null> {
  const wip = await commitWip(
    worktree,
    `WIP: saved by Auto-Dev from the clone of task ${String(worktree.taskId)} (uncommitted when the attempt ended)`,
    save,
  );
  if (worktree.branch !== null) {
    const record: CloneRecord = { branch: worktree.branch, head: worktree.head, state: 'removing' };
    await writeFile(cloneRecordPath(worktree.path), JSON.stringify(record));
  }
  await removeCloneDirectory(worktree.path);
  return wip.committed ? wip.commit : null;
}

/** Deletes a clone's directory, then its record. */
async function removeCloneDirectory(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(async () => {
    // The agent may have made directories read-only: give the owner write access back, then remove.
    await setTreeWritable(path, true);
    await rm(path, { recursive: true, force: true });
  });
  await rm(cloneRecordPath(path), { force: true });
}

export interface TaskCheckoutLocation {
  repoPath: string;
  baseDir: string;
  taskId: string | number;
  baseBranch: string;
}

/**
 * The checkout a task has on this machine, found from what Auto-Dev recorded (a clone's record beside it, or the
 * repository's list of worktrees for a read-only one), never from what is inside it. Null when there is none.
 */
export function findTaskCheckout(location: TaskCheckoutLocation): Promise<Worktree | null> {
  return withRepositoryLock(location.repoPath, () => lookUpTaskCheckout(location));
}

async function lookUpTaskCheckout(location: TaskCheckoutLocation): Promise<Worktree | null> {
  let baseDir: string;
  try {
    baseDir = await realpath(location.baseDir);
  } catch {
    return null;
  }
  const path = join(baseDir, taskDirName(location.taskId));
  const { repoPath, gitCommonDir } = await repositoryDirs(location.repoPath);
  const common = { taskId: location.taskId, repoPath, gitCommonDir, path, baseBranch: location.baseBranch };
  const record = await readCloneRecord(path);
  // A clone half made or half removed by a killed process holds no work: as if there were none.
  if (record?.state !== undefined) return null;
  if (record !== null) {
    return { ...common, branch: record.branch, readOnly: false, head: record.head, resumed: true };
  }
  const listed = (await listWorktrees(repoPath)).find((entry) => entry.path === path && entry.branch === null);
  if (listed?.head) return { ...common, branch: null, readOnly: true, head: listed.head, resumed: true };
  return null;
}

/**
 * Saves the clone an attempt left behind when its worker was lost (lease expired, task dead-lettered), before
 * anything else touches it: its uncommitted work becomes a WIP commit on the task branch. The clone stays (a next
 * attempt replaces it). Null when this machine has no clone of the task.
 */
export async function saveLeftoverClone(location: TaskCheckoutLocation, save?: SaveOptions): Promise<WipCommit | null> {
  const worktree = await findTaskCheckout(location);
  if (worktree === null || worktree.readOnly || (await pathState(worktree.path)) !== 'occupied') return null;
  return commitWip(
    worktree,
    `WIP: saved by Auto-Dev after the attempt at task ${String(location.taskId)} was lost (its worker stopped)`,
    save,
  );
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
 * Removes a task's checkout without losing anything: a clone's work is saved into the task branch first (`commitWip`,
 * sandboxed with `save`; throwing, with nothing removed, if that is impossible), then the clone is deleted; a
 * read-only worktree is removed with plain `git worktree remove`. The task branch is deleted only if `branchMergedInto` is given and every commit on it is merged there (see `deleteMergedBranch`).
 * A kept branch is reported in `branch.reason`. A read-only checkout is removed only if nobody changed it.
 *
 * ### Example
 * ```ts
 * const result = await removeWorktree(wt, { branchMergedInto: 'main' });
 * if (!result.branch?.deleted) log.info(result.branch?.reason);
 * ```
 */
export function removeWorktree(
  worktree: Worktree,
  options: { branchMergedInto?: string } = {},
  save?: SaveOptions,
): Promise<RemoveWorktreeResult> {
  return withRepositoryLock(worktree.repoPath, () => removeCheckout(worktree, options, save));
}

async function removeCheckout(
  worktree: Worktree,
  options: { branchMergedInto?: string },
  save: SaveOptions | undefined,
): Promise<RemoveWorktreeResult> {
  const exists = (await pathState(worktree.path)) !== 'missing';
  let wipCommit: string | null = null;
  if (!exists) {
    if (worktree.readOnly) await git(worktree.repoPath, ['worktree', 'prune']);
    else await rm(cloneRecordPath(worktree.path), { force: true });
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
    wipCommit = await removeClone(worktree, save);
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
