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
import { FORGE_GIT_USER } from './working-copy.js';

/**
 * Fetches the remote's default branch into the clone cache's branch of that name (forced: the remote is the truth);
 * returns its head, or undefined when the repository has no forge remote.
 */
export async function refreshDefaultBranchFromRemote(
  row: RepositoryRow,
  context: ForgeClientContext,
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
  const { user, scope } = FORGE_GIT_USER[row.forge];
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
  return { sha: head.stdout.trim() };
}
