/**
 * @module The branch a task's work is on, for the workflow when the task is dead-lettered (it has no result to say
 * so): the branch the agent runtime gives a writable task, `autodev/<id>-<slug of its title>`, when it exists in the
 * task's repository (this process's working copy of it: a local branch, or one fetched from the forge). A resume of the
 * stopped story continues it instead of starting over from the default branch.
 */
import type { Kysely } from 'kysely';
import type { Task } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import { workingCopyPath } from '../forge/working-copy.js';
import { taskBranchName } from '../workspace/branch-names.js';
import { resolveCommit } from '../workspace/git.js';

export async function taskWorkBranch(db: Kysely<Database>, task: Task, dataDir?: string): Promise<string | undefined> {
  if (task.repoId === null) return undefined;
  const repo = await db.selectFrom('repositories').selectAll().where('id', '=', task.repoId).executeTakeFirst();
  if (!repo) return undefined;
  // The title the runtime named the branch after (`prepareWorkspace`): the payload's, else the task type.
  const title = typeof task.payload.title === 'string' ? task.payload.title : task.type;
  const branch = taskBranchName(task.id, title);
  if (branch === repo.default_branch) return undefined;
  // This process's working copy (its own clone of a remote repository), where the branch is local or was fetched.
  const location = dataDir === undefined ? repo.location : workingCopyPath(repo, dataDir);
  for (const ref of [`refs/heads/${branch}`, `refs/remotes/origin/${branch}`]) {
    if (await resolveCommit(location, ref).catch(() => null)) return branch;
  }
  return undefined;
}
