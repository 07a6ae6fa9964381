/**
 * @module Where a repository's local clone cache lives: `<data-dir>/clones/<repository id>`, a clone of its remote
 * that Auto-Dev's worktrees are made from and task branches are pushed from. Cloning and fetching it is
 * `working-copy.ts`'s job alone (`syncWorkingCopy`: the token only in git's environment, hooks and fsmonitor off,
 * `git-credential-env.ts`). A repository without a remote has no cache: it is its own clone.
 */
import path from 'node:path';

export function cloneCachePath(dataDir: string, repoId: number): string {
  return path.join(dataDir, 'clones', String(repoId));
}
