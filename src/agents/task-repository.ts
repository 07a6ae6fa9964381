/**
 * @module A task's repository as this agent process works on it: the row with `location` set to this process's
 * working copy, synced with the forge's remote first (`forge/working-copy.ts`: cloned into its own clone cache when
 * the registered clone is not on this disk), and the task branch pushed back after a writing session so agent
 * processes on other disks see it. A local-forge repository is worked on where it is (or refused on another disk).
 */
import type { RepositoryRow } from '../forge/repositories.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import { syncWorkingCopy } from '../forge/working-copy.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';

type Deps = Pick<AgentRuntimeDeps, 'queue' | 'dataDir' | 'env'>;

/** The task's repository row, its `location` this process's up-to-date working copy; undefined when not registered. */
export async function taskRepository(deps: Deps, repoId: number): Promise<RepositoryRow | undefined> {
  const row = await deps.queue.handle.db
    .selectFrom('repositories')
    .selectAll()
    .where('id', '=', repoId)
    .executeTakeFirst();
  return row ? syncWorkingCopy(row, { dataDir: deps.dataDir, env: deps.env }) : undefined;
}

/**
 * Pushes a task branch a writing session left in the working copy to the forge's remote (a no-op for a repository
 * without one). Forced: the lease holder's branch, as `commitWip` left it (an agent's rewrite keeps the old head
 * under `refs/autodev/replaced/` locally), is the task's truth.
 */
export async function publishTaskBranch(deps: Deps, repo: RepositoryRow, branch: string): Promise<void> {
  if (repo.forge === 'local' || repo.remote_url === null) return;
  await forgeClientFor(repo, { dataDir: deps.dataDir, env: deps.env }).pushBranch(branch, { force: true });
}
