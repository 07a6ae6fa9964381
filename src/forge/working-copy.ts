/**
 * @module This process's working copy of a repository: where its agents' clones are made from, where task branches
 * live between sessions and where pushes to the forge start. A GitLab/GitHub repository with a remote is worked on
 * from this process's own clone cache (`<data-dir>/clones/<id>`; the registrar's is its own, private to its data
 * dir), cloned from `remote_url` on first use (a location registered outside any clone cache, e.g. a checkout on a
 * shared volume, is used as is while it is on this disk). Before
 * work, `syncWorkingCopy` fetches the remote (the token only in git's environment: `git-credential-env.ts`): the
 * default branch is set to the remote's (merges happen in the forge) and each swarm task branch (`autodev/...`) is
 * created or fast-forwarded to what another process pushed (a diverged local branch is left alone). The agent runtime
 * pushes a task branch after each writing session, so every process sees it. A repository without a remote (the
 * local forge) is one machine's: on another disk it is REPOSITORY_NOT_ON_THIS_DISK, naming the fix.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AutodevError } from '../errors.js';
import { TASK_BRANCH_PREFIX } from '../workspace/branch-names.js';
import { git, isAncestor } from '../workspace/git.js';
import { cloneCachePath } from './clone-cache.js';
import type { ForgeClientContext } from './forge-client.js';
import { forgeRemoteSettings, forgeToken } from './forge-remote-settings.js';
import { forgeRepository } from './forge-repository.js';
import { GIT_TOKEN_USER, gitCredentialEnv, hasUrlCredentials } from './git-credential-env.js';
import type { RepositoryRow } from './repositories.js';

type RemoteRow = RepositoryRow & { forge: 'gitlab' | 'github'; remote_url: string };

/** The token scope a fetch needs, per forge. */
const FETCH_SCOPE = { gitlab: 'read_repository', github: 'repo' } as const;

function hasForgeRemote(row: RepositoryRow): row is RemoteRow {
  return (row.forge === 'gitlab' || row.forge === 'github') && row.remote_url !== null;
}

function isGitCheckout(dir: string): boolean {
  return fs.existsSync(path.join(dir, '.git'));
}

/** `<some data dir>/clones/<id>`: the clone cache of the process that registered the repository (its private copy). */
function isCloneCacheOf(location: string, repoId: number): boolean {
  return path.basename(location) === String(repoId) && path.basename(path.dirname(location)) === 'clones';
}

/**
 * The path this process works on `row` from (no network, no check that a clone is there yet). Without a remote: the
 * registered location. With one: this process's clone cache, since a clone cache is private to its data dir (the
 * registrar's `<its data dir>/clones/<id>` is used only by processes with that data dir: then it is this path);
 * a location registered elsewhere (a checkout on a shared volume) is used as is while it is on this disk.
 */
export function workingCopyPath(row: RepositoryRow, dataDir: string): string {
  if (!hasForgeRemote(row)) return row.location;
  const own = cloneCachePath(dataDir, row.id);
  if (path.resolve(row.location) === path.resolve(own) || isCloneCacheOf(row.location, row.id)) return own;
  return isGitCheckout(row.location) ? row.location : own;
}

/** The environment a git command talking to `row`'s remote runs with: the token through the env-only helper. */
export function remoteGitEnv(row: RemoteRow, context: ForgeClientContext): NodeJS.ProcessEnv {
  const settings = forgeRemoteSettings(forgeRepository(row), row.forge);
  if (hasUrlCredentials(row.remote_url)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `the remote URL of repository "${row.name}" carries credentials; register it without them (the token comes ` +
        `from ${settings.tokenEnv})`,
    );
  }
  const token = forgeToken(context, settings, row.name, FETCH_SCOPE[row.forge]);
  return { ...process.env, ...gitCredentialEnv(row.remote_url, token, GIT_TOKEN_USER[row.forge]) };
}

/** A git command against the remote; a refusal names the token variable, and the token never reaches a message. */
async function remoteGit(row: RemoteRow, context: ForgeClientContext, cwd: string, args: string[], what: string) {
  const env = remoteGitEnv(row, context);
  const done = await git(cwd, args, { okExitCodes: [1, 128], env });
  if (done.exitCode === 0) return;
  const token = env.AUTODEV_FORGE_GIT_TOKEN ?? '';
  const stderr = (token ? done.stderr.split(token).join('[token]') : done.stderr).trim();
  const where = `${what} of repository "${row.name}" from ${row.remote_url}`;
  if (/Authentication failed|could not read Username|401|403/i.test(stderr)) {
    const { tokenEnv } = forgeRemoteSettings(forgeRepository(row), row.forge);
    throw new AutodevError(
      'FORGE_AUTH_FAILED',
      `${where} was refused: set ${tokenEnv} to a token with the ${FETCH_SCOPE[row.forge]} scope`,
    );
  }
  throw new AutodevError('FORGE_REQUEST_FAILED', `${where} failed: ${stderr.slice(0, 500)}`);
}

/** One clone or sync at a time per working copy in this process (workers of several roles share it). */
const locks = new Map<string, Promise<unknown>>();

function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  locks.set(key, settled);
  void settled.then(() => {
    if (locks.get(key) === settled) locks.delete(key);
  });
  return next;
}

/**
 * Clones the remote into `target` when no clone is there: into a pending directory beside it, renamed into place,
 * so a clone interrupted half-way (or made by another process sharing the data dir at the same time) is never used.
 */
async function ensureClone(row: RemoteRow, context: ForgeClientContext, target: string): Promise<void> {
  if (isGitCheckout(target)) return;
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  const pending = path.join(parent, `.pending-${path.basename(target)}-${randomBytes(4).toString('hex')}`);
  try {
    await remoteGit(
      row,
      context,
      parent,
      ['clone', '--quiet', '--no-hardlinks', row.remote_url, path.basename(pending)],
      'git clone',
    );
    // A directory left without a usable `.git` (an older interrupted clone) is replaced.
    if (!isGitCheckout(target)) fs.rmSync(target, { recursive: true, force: true });
    try {
      fs.renameSync(pending, target);
    } catch (error) {
      // Another process sharing this data dir renamed its clone in first: use that one.
      if (!isGitCheckout(target)) throw error;
    }
  } finally {
    fs.rmSync(pending, { recursive: true, force: true });
  }
}

async function refLines(cwd: string, patterns: string[]): Promise<Map<string, string>> {
  const listed = await git(cwd, ['for-each-ref', '--format=%(refname) %(objectname)', ...patterns]);
  const refs = new Map<string, string>();
  for (const line of listed.stdout.split('\n')) {
    const [name, sha] = line.split(' ');
    if (name && sha) refs.set(name, sha);
  }
  return refs;
}

/**
 * Brings the local branches up to the fetched remote: the default branch to the remote's (forced: the forge is
 * where it moves), each swarm task branch created or fast-forwarded (compare-and-swap; never backwards).
 */
async function followRemoteBranches(row: RepositoryRow, cwd: string): Promise<void> {
  const remote = await refLines(cwd, ['refs/remotes/origin/']);
  const local = await refLines(cwd, [`refs/heads/${TASK_BRANCH_PREFIX}`, `refs/heads/${row.default_branch}`]);
  for (const [ref, sha] of remote) {
    const branch = ref.slice('refs/remotes/origin/'.length);
    const head = `refs/heads/${branch}`;
    const mine = local.get(head);
    if (mine === sha) continue;
    if (branch === row.default_branch) {
      await git(cwd, ['update-ref', '-m', 'autodev: the default branch as the forge has it', head, sha]);
    } else if (branch.startsWith(TASK_BRANCH_PREFIX)) {
      if (mine === undefined) {
        // The empty old value: created only if it still does not exist.
        await git(cwd, ['update-ref', '-m', 'autodev: a task branch pushed by another process', head, sha, '']);
      } else if (await isAncestor(cwd, mine, sha)) {
        await git(cwd, ['update-ref', '-m', 'autodev: fast-forward to the pushed task branch', head, sha, mine]);
      }
    }
  }
}

/**
 * The working copy's files made its default branch's (after a merge in the forge, so a product's files read from its
 * checkout are the merged ones); only when that branch is the one checked out there, whose files are never worked in
 * (sessions work in worktrees).
 */
async function checkOutDefaultBranch(row: RepositoryRow, cwd: string): Promise<void> {
  const checkedOut = await git(cwd, ['symbolic-ref', '--quiet', 'HEAD'], { okExitCodes: [1, 128] });
  if (checkedOut.stdout.trim() === `refs/heads/${row.default_branch}`) await git(cwd, ['reset', '--quiet', '--hard']);
}

/**
 * Makes sure this process has a working copy of `row` and that it is up to date with the remote; returns the row
 * with `location` set to it. A repository without a remote is returned as it is when its location is on this disk.
 * `checkout`: its checked-out default branch's files follow too (`checkOutDefaultBranch`).
 */
export async function syncWorkingCopy(
  row: RepositoryRow,
  context: ForgeClientContext,
  options: { checkout?: boolean } = {},
): Promise<RepositoryRow> {
  if (!hasForgeRemote(row)) {
    if (fs.existsSync(row.location)) return row;
    throw new AutodevError(
      'REPOSITORY_NOT_ON_THIS_DISK',
      `repository "${row.name}" is at ${row.location}, which is not on this machine's disk, and it has no remote to ` +
        `clone it from: run this process with the data dir that holds it (one machine or a shared volume), or ` +
        `register the repository with a remote (autodev repos add --gitlab/--github) so each process clones its own`,
    );
  }
  const cwd = workingCopyPath(row, context.dataDir);
  await withLock(cwd, async () => {
    await ensureClone(row, context, cwd);
    await remoteGit(
      row,
      context,
      cwd,
      ['fetch', '--quiet', '--prune', row.remote_url, '+refs/heads/*:refs/remotes/origin/*'],
      'git fetch',
    );
    await followRemoteBranches(row, cwd);
    if (options.checkout) await checkOutDefaultBranch(row, cwd);
  });
  return { ...row, location: cwd };
}
