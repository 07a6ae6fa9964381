/**
 * @module A local clone of a stand-in forge's repository for client tests: cloned over real git HTTP with the token
 * given through the environment-only credential, so tests commit on a task branch and `pushBranch` it for real.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gitCredentialEnv } from '../../src/forge/git-credential-env.js';
import { git } from '../../src/workspace/git.js';

export async function cloneForTest(remoteUrl: string, token: string, into: string): Promise<string> {
  fs.mkdirSync(path.dirname(into), { recursive: true });
  await git(path.dirname(into), ['clone', '-q', remoteUrl, into], {
    env: { ...process.env, ...gitCredentialEnv(remoteUrl, token, 'oauth2') },
  });
  return into;
}

/** Commits `files` on `branch` (created from the current HEAD when missing); returns the new head. */
export async function commitOnBranch(
  clone: string,
  branch: string,
  files: Record<string, string>,
  message: string,
): Promise<string> {
  const exists = await git(clone, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { okExitCodes: [1] });
  await git(clone, exists.exitCode === 0 ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch]);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    fs.writeFileSync(path.join(clone, file), content);
  }
  await git(clone, ['add', '-A']);
  await git(clone, ['commit', '-q', '-m', message], { asAutodev: true });
  return (await git(clone, ['rev-parse', 'HEAD'])).stdout.trim();
}
