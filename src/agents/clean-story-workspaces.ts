/**
 * @module After a story's merge: its tasks' checkouts on this machine are removed (a clone's work saved first) and
 * its `autodev/*` branches whose commits all reached the default branch (directly, or through the squash of a merged
 * merge request's head) are deleted. Unmerged work is kept, and the result says which branch and why, for
 * `autodev stories show`. Runs outside any transaction (git is a side effect) and never throws for one branch.
 */
import path from 'node:path';
import { isAutodevError } from '../errors.js';
import type { RepositoryRow } from '../forge/repositories.js';
import { deleteMergedBranch } from '../workspace/branches.js';
import { findTaskCheckout, removeWorktree } from '../workspace/worktrees.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';
import { saveOptionsFor } from './sandbox-policy.js';

export interface WorkspaceCleanup {
  /** Checkouts removed from this machine. */
  removed_checkouts: string[];
  deleted_branches: string[];
  /** Branches kept because some of their work is not merged, with where to find it. */
  kept_branches: { branch: string; reason: string; repository: string }[];
}

function reasonOf(error: unknown): string {
  if (isAutodevError(error)) return error.message;
  throw error;
}

export async function cleanStoryWorkspaces(
  deps: AgentRuntimeDeps,
  workflowId: number,
  repo: RepositoryRow,
): Promise<WorkspaceCleanup> {
  const db = deps.queue.handle.db;
  const cleanup: WorkspaceCleanup = { removed_checkouts: [], deleted_branches: [], kept_branches: [] };
  const tasks = await db
    .selectFrom('tasks')
    .select(['id', 'result'])
    .where('workflow_id', '=', workflowId)
    .where('repo_id', '=', repo.id)
    .orderBy('id')
    .execute();
  const mergedHeads = (
    await db
      .selectFrom('merge_requests')
      .select('head_sha')
      .where('workflow_id', '=', workflowId)
      .where('status', '=', 'merged')
      .execute()
  )
    .map((row) => row.head_sha)
    .filter((sha): sha is string => sha !== null);

  const branches = new Set<string>();
  for (const task of tasks) {
    const result = task.result ? (JSON.parse(task.result) as { branch?: unknown }) : {};
    if (typeof result.branch === 'string') branches.add(result.branch);
    try {
      const checkout = await findTaskCheckout({
        repoPath: repo.location,
        baseDir: path.join(deps.dataDir, 'worktrees', repo.name),
        taskId: task.id,
        baseBranch: repo.default_branch,
      });
      if (!checkout) continue;
      if (checkout.branch) branches.add(checkout.branch);
      await removeWorktree(checkout, {}, saveOptionsFor(deps));
      cleanup.removed_checkouts.push(checkout.path);
    } catch (error) {
      deps.logger.warn({ task: task.id, reason: reasonOf(error) }, 'a task checkout was kept');
    }
  }

  for (const branch of branches) {
    if (branch === repo.default_branch) continue;
    let kept: string | null = null;
    for (const target of [repo.default_branch, ...mergedHeads]) {
      try {
        const deleted = await deleteMergedBranch(repo.location, branch, target, { protect: [repo.default_branch] });
        kept = null;
        if (deleted) cleanup.deleted_branches.push(branch);
        break;
      } catch (error) {
        kept = reasonOf(error);
      }
    }
    if (kept) cleanup.kept_branches.push({ branch, reason: kept, repository: repo.location });
  }
  return cleanup;
}
