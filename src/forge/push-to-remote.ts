/**
 * @module Pushing a task branch from the local clone to a forge's remote with real git: the token reaches git only
 * through the environment-only credential helper (`git-credential-env.ts`), never a URL or the clone's config. A
 * refused push becomes an `AutodevError` naming the repository (auth: the token's missing scope; rejected: a
 * conflict). The GitLab and GitHub clients share it.
 */
import { AutodevError } from '../errors.js';
import { git } from '../workspace/git.js';
import { gitCredentialEnv, hasUrlCredentials } from './git-credential-env.js';

export interface PushToRemoteInput {
  forge: 'GitLab' | 'GitHub';
  repository: string;
  localPath: string;
  remoteUrl: string;
  branch: string;
  force: boolean;
  token: string;
  /** The user name the forge expects beside a token (`oauth2`, `x-access-token`). */
  username: string;
  tokenSource: string;
  /** The scope a push needs (`write_repository` on GitLab, `repo` / contents:write on GitHub). */
  pushScope: string;
}

export async function pushToRemote(input: PushToRemoteInput): Promise<{ sha: string }> {
  if (hasUrlCredentials(input.remoteUrl)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `the remote URL of repository "${input.repository}" carries credentials; register it without them (the token ` +
        `comes from ${input.tokenSource})`,
    );
  }
  const local = await git(
    input.localPath,
    ['rev-parse', '--verify', '--quiet', `refs/heads/${input.branch}^{commit}`],
    {
      okExitCodes: [1, 128],
    },
  );
  if (local.exitCode !== 0) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `branch "${input.branch}" does not exist in the clone of repository "${input.repository}"`,
    );
  }
  const sha = local.stdout.trim();
  const refspec = `${input.force ? '+' : ''}refs/heads/${input.branch}:refs/heads/${input.branch}`;
  const pushed = await git(input.localPath, ['push', '--porcelain', input.remoteUrl, refspec], {
    okExitCodes: [1, 128],
    env: { ...process.env, ...gitCredentialEnv(input.remoteUrl, input.token, input.username) },
  });
  if (pushed.exitCode === 0) return { sha };
  const stderr = pushed.stderr.split(input.token).join('[token]').trim();
  const where = `${input.forge} (repository "${input.repository}", git push of ${input.branch})`;
  if (/Authentication failed|could not read Username|401/i.test(stderr)) {
    throw new AutodevError(
      'FORGE_AUTH_FAILED',
      `${where} refused the token from ${input.tokenSource}: set it to a token with the ${input.pushScope} scope`,
    );
  }
  if (/403|not allowed to push|permission/i.test(stderr)) {
    throw new AutodevError(
      'FORGE_AUTH_FAILED',
      `${where} was forbidden: the token from ${input.tokenSource} lacks the ${input.pushScope} scope`,
    );
  }
  if (/\[rejected\]|non-fast-forward|fetch first|stale info/i.test(pushed.stdout + stderr)) {
    throw new AutodevError('FORGE_CONFLICT', `${where} was rejected: the remote branch has commits the clone lacks`);
  }
  throw new AutodevError('FORGE_REQUEST_FAILED', `${where} failed: ${stderr.slice(0, 500)}`);
}
