/**
 * @module Brings a GitLab/GitHub repository's clone cache up to its remote's default branch (what `analyze_repo`
 * reads) with a real `git fetch`; the token reaches git only through the environment-only credential helper
 * (`git-credential-env.ts`), never a URL, argv or `.git/config`, and never a session (the fetch runs before the
 * session starts, in Auto-Dev's own process). A local repository, or one without a remote, is left as it is.
 */
import { AutodevError } from '../errors.js';
import { git } from '../workspace/git.js';
import type { ForgeClientContext } from './forge-client.js';
import { forgeRepository } from './forge-clients.js';
import { forgeRemoteSettings, forgeToken } from './forge-remote-settings.js';
import { gitCredentialEnv, hasUrlCredentials } from './git-credential-env.js';
import type { RepositoryRow } from './repositories.js';

/** The user name each forge expects beside a token over git HTTP, and the scope a fetch needs. */
const GIT_USER = {
  gitlab: { user: 'oauth2', scope: 'read_repository' },
  github: { user: 'x-access-token', scope: 'repo' },
};

/**
 * Fetches the remote's default branch into the clone cache's branch of that name (forced: the remote is the truth);
 * returns its head, or undefined when the repository has no forge remote. `checkout`: the clone's work tree is made
 * that branch's files too (after a merge in the forge, so a product's files read from its checkout are the merged
 * ones); only when the branch is the one checked out there.
 */
export async function refreshDefaultBranchFromRemote(
  row: RepositoryRow,
  context: ForgeClientContext,
  options: { checkout?: boolean } = {},
): Promise<{ sha: string } | undefined> {
  if ((row.forge !== 'gitlab' && row.forge !== 'github') || row.remote_url === null) return undefined;
  const remoteUrl = row.remote_url;
  const settings = forgeRemoteSettings(forgeRepository(row), row.forge);
  if (hasUrlCredentials(remoteUrl)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `the remote URL of repository "${row.name}" carries credentials; register it without them (the token comes ` +
        `from ${settings.tokenEnv})`,
    );
  }
  const { user, scope } = GIT_USER[row.forge];
  const token = forgeToken(context, settings, row.name, scope);
  const branch = row.default_branch;
  // `--update-head-ok`: the cache's checkout is never worked in (worktrees are made from its refs), so moving the
  // checked-out branch's ref is safe.
  const fetched = await git(
    row.location,
    ['fetch', '--quiet', '--update-head-ok', remoteUrl, `+refs/heads/${branch}:refs/heads/${branch}`],
    { okExitCodes: [1, 128], env: { ...process.env, ...gitCredentialEnv(remoteUrl, token, user) } },
  );
  if (fetched.exitCode !== 0) {
    const stderr = fetched.stderr.split(token).join('[token]').trim();
    const where = `git fetch of ${branch} for repository "${row.name}"`;
    if (/Authentication failed|could not read Username|401|403/i.test(stderr)) {
      throw new AutodevError(
        'FORGE_AUTH_FAILED',
        `${where} was refused: set ${settings.tokenEnv} to a token with the ${scope} scope`,
      );
    }
    throw new AutodevError('FORGE_REQUEST_FAILED', `${where} failed: ${stderr.slice(0, 500)}`);
  }
  const head = await git(row.location, ['rev-parse', `refs/heads/${branch}^{commit}`]);
  if (options.checkout) {
    const checkedOut = await git(row.location, ['symbolic-ref', '--quiet', 'HEAD'], { okExitCodes: [1, 128] });
    // The clone's checkout is never worked in: its index and files simply follow the fetched branch.
    if (checkedOut.stdout.trim() === `refs/heads/${branch}`) await git(row.location, ['reset', '--quiet', '--hard']);
  }
  return { sha: head.stdout.trim() };
}
