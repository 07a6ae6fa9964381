/**
 * @module A repository's local clone cache: `<data-dir>/clones/<repository id>`, a clone of its remote that Auto-Dev's
 * worktrees are made from and task branches are pushed from. `refreshCloneCache` clones it the first time and fetches
 * the remote's branches after that. A repository without a remote has no cache: it is its own clone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { git } from '../workspace/git.js';

export function cloneCachePath(dataDir: string, repoId: number): string {
  return path.join(dataDir, 'clones', String(repoId));
}

/** Clones `remoteUrl` into `cachePath`, or fetches into the existing clone; returns the cache's path. */
export async function refreshCloneCache(remoteUrl: string, cachePath: string): Promise<string> {
  if (fs.existsSync(path.join(cachePath, '.git'))) {
    await git(cachePath, ['fetch', '--quiet', '--prune', remoteUrl, '+refs/heads/*:refs/remotes/origin/*']);
    return cachePath;
  }
  fs.mkdirSync(path.dirname(cachePath), { recursive: true });
  // A clone interrupted half-way leaves a directory without a usable `.git`: start it again from nothing.
  fs.rmSync(cachePath, { recursive: true, force: true });
  await git(path.dirname(cachePath), ['clone', '--quiet', '--no-hardlinks', remoteUrl, path.basename(cachePath)]);
  return cachePath;
}
