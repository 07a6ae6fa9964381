/**
 * @module The deterministic `merge` step: carries out an approved merge recorded as a `merge` task. Outside any
 * transaction it pushes the branch and opens the request in a remote forge (when the repository has one), then asks
 * the repository's forge client to merge with the heads the gates passed on; the outcome (`merged` or
 * `merge_refused`) is recorded and moves the story on in the transaction that completes the task. A crash between the
 * forge's merge and that transaction neither merges twice nor loses the decision: the retried task asks the client
 * again, which finds its own merge on the target (`recovered`); a retry of a task whose outcome was recorded finds the
 * story past its merge and completes as `skipped`.
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import type { ForgeClientContext, MergeResult } from '../forge/forge-client.js';
import { forgeClientFor } from '../forge/forge-clients.js';
import {
  mergeCommitTitle,
  recordForgeId,
  recordMergeOutcome,
  type MergeRequestRow,
} from '../forge/merge-request-records.js';
import { findRepositoryById } from '../forge/repositories.js';
import type { Task } from '../queue/task-record.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { advanceWorkflow, type WorkflowDeps } from './advance-workflow.js';
import { squashReason, type StoryState } from './workflow-steps.js';

export interface MergeStepResult {
  status: 'done';
  summary: string;
  outcome: 'merged' | 'refused' | 'skipped';
  sha?: string;
  reason?: string;
  deterministic: true;
}

export interface MergeStepOutcome {
  result: MergeStepResult;
  /** Records the outcome and steps the story; runs in the transaction that completes the task. */
  onComplete?: (tx: Kysely<Database>) => Promise<void>;
}

function skipped(reason: string): MergeStepOutcome {
  return { result: { status: 'done', summary: reason, outcome: 'skipped', reason, deterministic: true } };
}

/** Carries out the merge task `task` (see the module comment); `actor` names the worker in the events. */
export async function carryOutMerge(
  deps: WorkflowDeps,
  forgeContext: ForgeClientContext,
  task: Task,
  actor: string,
): Promise<MergeStepOutcome> {
  const db = deps.queue.handle.db;
  if (task.workflowId === null) {
    throw new AutodevError('VALIDATION_FAILED', `merge task ${task.id} names no workflow; there is nothing to merge`);
  }
  const workflow = await db.selectFrom('workflows').selectAll().where('id', '=', task.workflowId).executeTakeFirst();
  if (!workflow) throw new AutodevError('WORKFLOW_NOT_FOUND', `no workflow has id ${task.workflowId}`);
  if (workflow.stage !== 'merge' || workflow.status !== 'running') {
    return skipped(`story ${workflow.id} is ${workflow.status} at stage ${workflow.stage}: its merge was recorded`);
  }
  const state = JSON.parse(workflow.state) as StoryState;
  const mr = await db
    .selectFrom('merge_requests')
    .selectAll()
    .where('workflow_id', '=', workflow.id)
    .where('status', '=', 'open')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!mr || workflow.repo_id === null) {
    throw new AutodevError(
      'FORGE_UNAVAILABLE',
      `workflow ${workflow.id} has no open merge request for ${state.branch ?? '?'}`,
    );
  }
  const repo = await findRepositoryById(db, workflow.repo_id);
  const client = forgeClientFor(repo, forgeContext);
  const externalId = await ensureOpenInForge(deps, client, repo.remote_url, mr, actor);
  const squash = squashReason(state);
  const result: MergeResult = mr.head_sha
    ? await client.merge(externalId, {
        expectedHeadSha: mr.head_sha,
        expectedTargetSha: mr.target_sha,
        method: client.repository.mergeMethod,
        title: mergeCommitTitle(mr),
        ...(squash ? { squashReason: squash } : {}),
      })
    : { status: 'refused', reason: `merge request ${mr.id} has no recorded head`, rerunGates: true };
  const summary =
    result.status === 'merged'
      ? `merged ${mr.source_branch} into ${mr.target_branch} as ${result.sha.slice(0, 12)}${result.recovered ? ' (found on the target: an earlier attempt made it)' : ''}`
      : `the merge was refused: ${result.reason}`;
  return {
    result: {
      status: 'done',
      summary,
      outcome: result.status,
      ...(result.status === 'merged' ? { sha: result.sha } : { reason: result.reason }),
      deterministic: true,
    },
    onComplete: async (tx) => {
      const now = deps.queue.clock();
      await recordMergeOutcome(tx, mr, result, { actor: WORKFLOW_ACTOR, now, ...(squash ? { squash } : {}) });
      await advanceWorkflow(
        tx,
        deps,
        workflow.id,
        result.status === 'merged'
          ? { type: 'merged', sha: result.sha }
          : { type: 'merge_refused', reason: result.reason, rerunGates: result.rerunGates },
        actor,
      );
    },
  };
}

const WORKFLOW_ACTOR = 'workflow';

/**
 * The request's id in the forge. A repository that is its own remote (the local forge's default) has nothing to push
 * or open: the source branch is the id. Otherwise the branch is pushed and the request opened or refreshed in the
 * forge, and its id recorded (its own transaction: the forge call is done, and a retry finds it again).
 */
async function ensureOpenInForge(
  deps: WorkflowDeps,
  client: ReturnType<typeof forgeClientFor>,
  remoteUrl: string | null,
  mr: MergeRequestRow,
  actor: string,
): Promise<string> {
  if (client.kind === 'local' && remoteUrl === null) return mr.source_branch;
  // A retry after the forge merged the recorded request (a crash before the record): that request is the one to
  // merge (the client answers `recovered`); opening one for the branch again would make a second request.
  if (mr.external_id !== null && (await client.getMergeRequest(mr.external_id))?.state === 'merged') {
    return mr.external_id;
  }
  await client.pushBranch(mr.source_branch);
  const opened = await client.openMergeRequest({
    sourceBranch: mr.source_branch,
    targetBranch: mr.target_branch,
    title: mr.title,
    description: mr.description,
  });
  if (opened.externalId !== mr.external_id) {
    await inTransaction(deps.queue.handle.db, (tx) =>
      recordForgeId(tx, mr, { externalId: opened.externalId, url: opened.url, actor, now: deps.queue.clock() }),
    );
  }
  return opened.externalId;
}
