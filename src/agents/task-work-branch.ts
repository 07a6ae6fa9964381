/**
 * @module The branch a task's work is on, for the workflow when the task is dead-lettered (it has no result to say
 * so): the branch the agent runtime gives a writable task, `autodev/<id>-<slug of its title>`, when it exists in the
 * task's repository. A resume of the stopped story continues it instead of starting over from the default branch.
 */
import type { Kysely } from 'kysely';
import type { Task } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import { taskBranchName } from '../workspace/branch-names.js';
import { resolveCommit } from '../workspace/git.js';

export async function taskWorkBranch(db: Kysely<Database>, task: Task): Promise<string | undefined> {
  if (task.repoId === null) return undefined;
  const repo = await db
    .selectFrom('repositories')
    .select(['location', 'default_branch'])
    .where('id', '=', task.repoId)
    .executeTakeFirst();
  if (!repo) return undefined;
  // The title the runtime named the branch after (`prepareWorkspace`): the payload's, else the task type.
  const title = typeof task.payload.title === 'string' ? task.payload.title : task.type;
  const branch = taskBranchName(task.id, title);
  if (branch === repo.default_branch) return undefined;
  const exists = await resolveCommit(repo.location, `refs/heads/${branch}`).catch(() => null);
  return exists ? branch : undefined;
}
