/**
 * @module A small typed wrapper around the real `git` binary (execFile, never a shell) for the workspace modules.
 * Failures throw GIT_FAILED naming the command, its exit code and stderr. Policy (what may be deleted) lives elsewhere.
 */
import { execFile } from 'node:child_process';
import { AutodevError } from '../errors.js';

/** The identity of commits Auto-Dev makes itself (WIP saves); passed with `-c`, so no global git config is needed. */
export const AUTODEV_GIT_IDENTITY = { name: 'Auto-Dev', email: 'autodev@localhost' } as const;

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitOptions {
  /** Exit codes that are answers rather than failures, e.g. `[1]` for `merge-base --is-ancestor`. */
  okExitCodes?: readonly number[];
  /** Add `-c user.name=Auto-Dev -c user.email=...` (and no signing): for commits Auto-Dev makes. */
  asAutodev?: boolean;
  /** Base environment (default `process.env`); variables that redirect git to another repository are removed. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Variables git sets for hooks and that would silently point our commands at another repository or index.
 * Auto-Dev may itself run inside a git hook, so they are never inherited.
 */
const REDIRECTING_GIT_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];

export function gitEnvironment(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' };
  for (const name of REDIRECTING_GIT_VARIABLES) delete env[name];
  return env;
}

/** The full argument list for one git call: identity options first when the commit is Auto-Dev's. */
export function gitArgs(cwd: string, args: readonly string[], asAutodev = false): string[] {
  const identity = asAutodev
    ? [
        '-c',
        `user.name=${AUTODEV_GIT_IDENTITY.name}`,
        '-c',
        `user.email=${AUTODEV_GIT_IDENTITY.email}`,
        '-c',
        'commit.gpgsign=false',
      ]
    : [];
  return ['-C', cwd, ...identity, ...args];
}

/**
 * Runs `git -C cwd ...args`. Resolves with stdout/stderr/exit code; throws GIT_FAILED for any other exit code.
 *
 * ### Example
 * ```ts
 * const { stdout } = await git(repoPath, ['rev-parse', 'HEAD']);
 * const merged = (await git(repoPath, ['merge-base', '--is-ancestor', a, b], { okExitCodes: [1] })).exitCode === 0;
 * ```
 */
export function git(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitResult> {
  const fullArgs = gitArgs(cwd, args, options.asAutodev);
  const okExitCodes = options.okExitCodes ?? [];
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      fullArgs,
      { env: gitEnvironment(options.env ?? process.env), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr, exitCode: 0 });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (typeof code === 'number' && okExitCodes.includes(code)) {
          resolve({ stdout, stderr, exitCode: code });
          return;
        }
        const exit = typeof code === 'number' ? `exit code ${code}` : `could not run git (${String(code)})`;
        const detail = stderr.trim() || error.message;
        reject(
          new AutodevError('GIT_FAILED', `git ${args.join(' ')} (in ${cwd}) failed with ${exit}: ${detail}`, {
            cwd,
            args: [...args],
            exitCode: typeof code === 'number' ? code : null,
            stderr,
          }),
        );
      },
    );
  });
}

/** `git ... ` and return trimmed stdout. */
export async function gitOutput(cwd: string, args: readonly string[], options?: GitOptions): Promise<string> {
  return (await git(cwd, args, options)).stdout.trim();
}

/** The commit a ref points at, or null when it does not exist. */
export async function resolveCommit(cwd: string, ref: string): Promise<string | null> {
  const result = await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    okExitCodes: [1],
  });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** Whether `refs/heads/<branch>` exists. */
export async function localBranchExists(cwd: string, branch: string): Promise<boolean> {
  const result = await git(cwd, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], { okExitCodes: [1] });
  return result.exitCode === 0;
}

/** True when `ancestor` is reachable from `descendant` (`git merge-base --is-ancestor`). */
export async function isAncestor(cwd: string, ancestor: string, descendant: string): Promise<boolean> {
  const result = await git(cwd, ['merge-base', '--is-ancestor', ancestor, descendant], { okExitCodes: [1] });
  return result.exitCode === 0;
}

/** Paths with uncommitted changes (tracked or untracked, .gitignore respected), as `git status --porcelain` lines. */
export async function uncommittedChanges(cwd: string): Promise<string[]> {
  const { stdout } = await git(cwd, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  return stdout.split('\0').filter((entry) => entry.length > 0);
}

/** The branch checked out in a working tree, or null when HEAD is detached. */
export async function currentBranch(cwd: string): Promise<string | null> {
  const result = await git(cwd, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okExitCodes: [1] });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

export interface WorktreeEntry {
  path: string;
  head: string | null;
  /** Short branch name, or null when detached. */
  branch: string | null;
  bare: boolean;
  prunable: boolean;
}

/** Parses `git worktree list --porcelain -z`. Pure. */
export function parseWorktreeList(output: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | null = null;
  for (const field of output.split('\0')) {
    if (field === '') {
      if (current) entries.push(current);
      current = null;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? '' : field.slice(space + 1);
    if (key === 'worktree') {
      if (current) entries.push(current);
      current = { path: value, head: null, branch: null, bare: false, prunable: false };
    } else if (current) {
      if (key === 'HEAD') current.head = value;
      else if (key === 'branch') current.branch = value.replace(/^refs\/heads\//, '');
      else if (key === 'bare') current.bare = true;
      else if (key === 'prunable') current.prunable = true;
    }
  }
  if (current) entries.push(current);
  return entries;
}

/** Every worktree of the repository, the main checkout first. */
export async function listWorktrees(repoPath: string): Promise<WorktreeEntry[]> {
  return parseWorktreeList((await git(repoPath, ['worktree', 'list', '--porcelain', '-z'])).stdout);
}

/** The commits reachable from `head` and not from `base`, oldest first, at most `max` (read in the repository). */
export async function commitsBetween(
  cwd: string,
  base: string,
  head: string,
  max = 100,
): Promise<{ sha: string; message: string }[]> {
  const out = await gitOutput(cwd, [
    'log',
    '--reverse',
    `--max-count=${max}`,
    '--format=%H%x00%s',
    `${base}..${head}`,
    '--',
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha = '', message = ''] = line.split('\0');
      return { sha, message };
    });
}
