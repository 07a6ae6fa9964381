/**
 * @module The local forge: merge requests between branches of a repository on this machine, stored as rows; the
 * merge is a real merge commit built with `git merge-tree` and moved onto the default branch only if nothing moved.
 * The git part cannot join the database transaction: if the process dies after moving the branch and before the
 * commit, the retry finds its own merge commit on the target and records the merge (`findOurMerge`).
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import type { Database } from '../store/schema.js';
import {
  commitsBetween,
  git,
  gitOutput,
  isAncestor,
  listWorktrees,
  resolveCommit,
  uncommittedChanges,
} from '../workspace/git.js';
import type {
  Forge,
  MergeMeta,
  MergeOutcome,
  MergeRequestNoteRow,
  MergeRequestRow,
  NewNote,
  OpenMergeRequest,
} from './forge.js';
import { repositorySettings, type RepositoryRow } from './repositories.js';

async function requireCommit(repo: RepositoryRow, branch: string): Promise<string> {
  const sha = await resolveCommit(repo.location, `refs/heads/${branch}`);
  if (!sha) throw new AutodevError('VALIDATION_FAILED', `branch "${branch}" does not exist in ${repo.name}`);
  return sha;
}

export class LocalForge implements Forge {
  async openMergeRequest(db: Kysely<Database>, input: OpenMergeRequest): Promise<MergeRequestRow> {
    const { repo } = input;
    if (input.sourceBranch === repo.default_branch) {
      throw new AutodevError(
        'BRANCH_PROTECTED',
        `cannot open a merge request from the default branch ${repo.default_branch}`,
      );
    }
    const headSha = await requireCommit(repo, input.sourceBranch);
    const targetSha = await requireCommit(repo, repo.default_branch);
    const open = await db
      .selectFrom('merge_requests')
      .selectAll()
      .where('repo_id', '=', repo.id)
      .where('source_branch', '=', input.sourceBranch)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (open) {
      const updated = await db
        .updateTable('merge_requests')
        .set({ head_sha: headSha, target_sha: targetSha, updated_at: input.now })
        .where('id', '=', open.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordEvent(db, {
        kind: 'merge_request.updated',
        subjectType: 'merge_request',
        subjectId: open.id,
        actor: input.actor,
        data: { head_sha: headSha, target_sha: targetSha },
        now: input.now,
      });
      return updated;
    }
    const row = await db
      .insertInto('merge_requests')
      .values({
        repo_id: repo.id,
        workflow_id: input.workflowId,
        source_branch: input.sourceBranch,
        target_branch: repo.default_branch,
        title: input.title,
        description: input.description,
        status: 'open',
        head_sha: headSha,
        target_sha: targetSha,
        created_at: input.now,
        updated_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(db, {
      kind: 'merge_request.opened',
      subjectType: 'merge_request',
      subjectId: row.id,
      actor: input.actor,
      data: { source_branch: input.sourceBranch, target_branch: repo.default_branch, head_sha: headSha },
      now: input.now,
    });
    return row;
  }

  async diff(repo: RepositoryRow, mr: MergeRequestRow): Promise<string> {
    return (
      await git(repo.location, ['diff', '--no-color', '--no-ext-diff', `${mr.target_branch}...${mr.source_branch}`])
    ).stdout;
  }

  async addNote(db: Kysely<Database>, note: NewNote): Promise<MergeRequestNoteRow> {
    const body = note.body.trim();
    if (body === '') throw new AutodevError('VALIDATION_FAILED', 'a merge request note needs a body');
    const row = await db
      .insertInto('merge_request_notes')
      .values({
        merge_request_id: note.mergeRequestId,
        author: note.author,
        kind: note.kind,
        verdict: note.verdict ?? null,
        body,
        created_at: note.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(db, {
      kind: 'merge_request.noted',
      subjectType: 'merge_request',
      subjectId: note.mergeRequestId,
      actor: note.author,
      data: { kind: note.kind, verdict: note.verdict ?? null },
      now: note.now,
    });
    return row;
  }

  async merge(db: Kysely<Database>, repo: RepositoryRow, mr: MergeRequestRow, meta: MergeMeta): Promise<MergeOutcome> {
    if (mr.status !== 'open')
      return { status: 'refused', reason: `merge request ${mr.id} is ${mr.status}`, rerunGates: false };
    const target = await resolveCommit(repo.location, `refs/heads/${mr.target_branch}`);
    const source = await resolveCommit(repo.location, `refs/heads/${mr.source_branch}`);
    if (!target || !source) {
      return {
        status: 'refused',
        reason: `branch ${!target ? mr.target_branch : mr.source_branch} is gone`,
        rerunGates: false,
      };
    }
    if (target !== mr.target_sha) {
      // A crash between moving the branch and committing the row leaves our merge commit on the target and the
      // request open: the retry recognizes it and records the merge instead of calling it "moved".
      const ours = await findOurMerge(repo, mr, target);
      if (ours) return this.recordMerged(db, mr, ours, meta, { recovered: true });
      return {
        status: 'refused',
        reason: `${mr.target_branch} moved from ${mr.target_sha?.slice(0, 12) ?? '?'} to ${target.slice(0, 12)} since the gates ran; they run again`,
        rerunGates: true,
      };
    }
    if (source !== mr.head_sha) {
      return {
        status: 'refused',
        reason: `${mr.source_branch} changed since the gates ran; they run again`,
        rerunGates: true,
      };
    }
    const tree = await git(
      repo.location,
      ['merge-tree', '--write-tree', '--name-only', '--no-messages', target, source],
      {
        okExitCodes: [1],
      },
    );
    if (tree.exitCode === 1) {
      const files = tree.stdout.trim().split('\n').slice(1).filter(Boolean);
      return {
        status: 'refused',
        reason: `${mr.source_branch} does not merge cleanly into ${mr.target_branch} (conflicts in ${files.join(', ') || 'some files'})`,
        rerunGates: false,
      };
    }
    const treeSha = tree.stdout.trim().split('\n')[0]!;
    // A squash is one commit with the merged tree on top of the target; its message names the squashed head, so a
    // retry after a crash can still recognize it. A squash forced by `meta.squash` (an earlier commit held a secret)
    // keeps the branch's commits, and so the secret, out of the target's history.
    const squash = meta.squash !== undefined || repositorySettings(repo).merge_method === 'squash';
    const why = meta.squash ? `\n\nSquashed because ${meta.squash}.` : '';
    // The agents' commit messages still reach the target's history: listed in the squash commit.
    const squashed = squash ? await commitsBetween(repo.location, target, source) : [];
    const subjects = squashed.map((commit) => `- ${commit.message}`).join('\n');
    const message = squash
      ? `${mr.title} (merge request ${mr.id})\n\nSquashed from branch '${mr.source_branch}' at ${source}${why}` +
        (subjects ? `\n\nSquashed commits:\n${subjects}` : '')
      : `Merge branch '${mr.source_branch}' into ${mr.target_branch}\n\n${mr.title} (merge request ${mr.id})`;
    const parents = squash ? ['-p', target] : ['-p', target, '-p', source];
    const commit = await gitOutput(repo.location, ['commit-tree', treeSha, ...parents, '-m', message], {
      asAutodev: true,
    });
    const checkedOut = (await listWorktrees(repo.location)).find((w) => w.branch === mr.target_branch && !w.bare);
    if (checkedOut) {
      // Move the checkout with the branch, and only if it is clean: never overwrite someone's work.
      if ((await uncommittedChanges(checkedOut.path)).length > 0) {
        return {
          status: 'refused',
          reason: `${mr.target_branch} is checked out at ${checkedOut.path} with uncommitted changes`,
          rerunGates: false,
        };
      }
      await git(checkedOut.path, ['merge', '--ff-only', '--quiet', commit]);
    } else {
      await git(repo.location, ['update-ref', `refs/heads/${mr.target_branch}`, commit, target]);
    }
    return this.recordMerged(db, mr, commit, meta, { recovered: false });
  }

  /** Records the merge; a squash forced by `meta.squash` says why in the event and in a note on the request. */
  private async recordMerged(
    db: Kysely<Database>,
    mr: MergeRequestRow,
    commit: string,
    meta: MergeMeta,
    how: { recovered: boolean },
  ): Promise<MergeOutcome> {
    await db
      .updateTable('merge_requests')
      .set({ status: 'merged', merge_sha: commit, updated_at: meta.now })
      .where('id', '=', mr.id)
      .execute();
    await recordEvent(db, {
      kind: 'merge_request.merged',
      subjectType: 'merge_request',
      subjectId: mr.id,
      actor: meta.actor,
      data: {
        merge_sha: commit,
        target_branch: mr.target_branch,
        source_sha: mr.head_sha,
        ...(how.recovered
          ? { recovered: 'the merge commit was already on the target branch (an earlier attempt)' }
          : {}),
        ...(meta.squash ? { squashed: meta.squash } : {}),
      },
      now: meta.now,
    });
    if (meta.squash) {
      await this.addNote(db, {
        mergeRequestId: mr.id,
        author: meta.actor,
        kind: 'note',
        body: `Squash-merged as one commit (${commit.slice(0, 12)}): ${meta.squash}, so the branch's commits were left out of ${mr.target_branch}'s history.`,
        now: meta.now,
      });
    }
    return { status: 'merged', sha: commit };
  }
}

/**
 * Our merge commit for `mr` on the target branch, if an earlier attempt made it: a commit between the recorded target
 * and the branch's head now whose message names this merge request, and whose parents are exactly the recorded
 * target and source heads (a merge commit) or the recorded target alone with the source head named (a squash).
 */
async function findOurMerge(repo: RepositoryRow, mr: MergeRequestRow, target: string): Promise<string | null> {
  if (!mr.target_sha || !mr.head_sha) return null;
  if (!(await isAncestor(repo.location, mr.target_sha, target))) return null;
  const commits = await gitOutput(repo.location, ['rev-list', '--parents', `${mr.target_sha}..${target}`]);
  for (const line of commits.split('\n').filter(Boolean)) {
    const [commit, first, second, ...more] = line.split(' ');
    if (!commit || first !== mr.target_sha || more.length > 0) continue;
    const merged = second === mr.head_sha;
    if (second !== undefined && !merged) continue;
    const message = await gitOutput(repo.location, ['log', '-1', '--format=%B', commit]);
    if (!message.includes(`(merge request ${mr.id})`)) continue;
    if (merged || message.includes(`Squashed from branch '${mr.source_branch}' at ${mr.head_sha}`)) return commit;
  }
  return null;
}
