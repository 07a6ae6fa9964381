/**
 * @module What a lost attempt leaves behind, closed when the reclaim pass takes its task back (lease expired, or
 * dead-lettered): its sessions still `running` are closed as aborted with their spend so far, and the uncommitted
 * work in its clone (when the clone is on this machine) is committed as WIP on the task branch before anything else
 * touches it. Runs outside any transaction: git is a side effect.
 */
import path from 'node:path';
import { isAutodevError } from '../errors.js';
import { workingCopyPath } from '../forge/working-copy.js';
import { saveLeftoverClone } from '../workspace/worktrees.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';
import { saveOptionsFor } from './sandbox-policy.js';
import { abortOrphanedSessions } from './session-store.js';

export async function closeLostAttempts(deps: AgentRuntimeDeps, taskIds: readonly number[]): Promise<void> {
  const db = deps.queue.handle.db;
  for (const taskId of taskIds) {
    const aborted = await abortOrphanedSessions(db, taskId, deps.queue.clock());
    const task = await db
      .selectFrom('tasks')
      .innerJoin('repositories', 'repositories.id', 'tasks.repo_id')
      .selectAll('repositories')
      .where('tasks.id', '=', taskId)
      .executeTakeFirst();
    let saved: string | null = null;
    if (task) {
      try {
        const wip = await saveLeftoverClone(
          {
            // The working copy this process's clones are made from (its own clone cache on a disk of its own).
            repoPath: workingCopyPath(task, deps.dataDir),
            baseDir: path.join(deps.dataDir, 'worktrees', task.name),
            taskId,
            baseBranch: task.default_branch,
          },
          saveOptionsFor(deps),
        );
        saved = wip?.committed ? wip.commit : null;
      } catch (error) {
        // The clone stays as it is; the next attempt saves it again before replacing it.
        if (!isAutodevError(error)) throw error;
        deps.logger.warn({ task: taskId, err: error }, 'could not save the lost attempt’s work yet');
      }
    }
    if (aborted.length > 0 || saved) {
      deps.logger.info({ task: taskId, abortedSessions: aborted, wipCommit: saved }, 'closed a lost attempt');
    }
  }
}
