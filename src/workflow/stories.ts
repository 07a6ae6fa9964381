/**
 * @module Stories (`autodev stories create|list|show`, `POST /api/stories`): a story is a workflow row of kind
 * `story` on a registered repository, started at the PM; showing one gathers its tasks, approvals and merge requests.
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import { findRepository } from '../forge/repositories.js';
import { toTask, taskToJson } from '../queue/task-record.js';
import type { Database } from '../store/schema.js';
import { startStoryWorkflow, type WorkflowDeps, type WorkflowRow } from './advance-workflow.js';
import { approvalToJson } from './approvals.js';
import type { StoryState } from './workflow-steps.js';

export const MAX_TITLE_CHARS = 200;
export const MAX_BODY_CHARS = 20_000;

export interface NewStoryInput {
  repo: string;
  title: string;
  body?: string | undefined;
  actor: string;
}

export async function createStory(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  input: NewStoryInput,
): Promise<WorkflowRow> {
  const title = input.title.trim();
  if (title === '' || title.length > MAX_TITLE_CHARS) {
    throw new AutodevError('VALIDATION_FAILED', `the title must be 1 to ${MAX_TITLE_CHARS} characters`);
  }
  const body = (input.body ?? '').trim();
  if (body.length > MAX_BODY_CHARS) {
    throw new AutodevError('VALIDATION_FAILED', `the body must be at most ${MAX_BODY_CHARS} characters`);
  }
  const repo = await findRepository(db, input.repo);
  return startStoryWorkflow(db, deps, { title, body, repoId: repo.id, createdBy: input.actor });
}

export function listStories(db: Kysely<Database>): Promise<WorkflowRow[]> {
  return db.selectFrom('workflows').selectAll().where('kind', '=', 'story').orderBy('id', 'desc').execute();
}

/**
 * Where a story waiting for a human stopped: the stopped task, why (an agent's `blocked_reason`, or the error), and
 * the branch a resume continues.
 */
function haltToJson(state: StoryState) {
  const halt = state.status === 'waiting_for_human' ? state.halt : undefined;
  if (!halt) return null;
  if (halt.kind === 'fixes') {
    return { kind: halt.kind, stage: null, task_id: null, task_type: null, reason: null, branch: state.branch ?? null };
  }
  return {
    kind: halt.kind,
    stage: halt.stage,
    task_id: halt.taskId,
    task_type: halt.taskType,
    // Halts recorded before the reason was kept have none.
    reason: halt.reason ?? null,
    branch: halt.branch ?? null,
  };
}

export function storyToJson(row: WorkflowRow) {
  const state = JSON.parse(row.state) as StoryState;
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    stage: row.stage,
    repo_id: row.repo_id,
    fix_rounds: row.fix_rounds,
    branch: state.branch ?? null,
    human_summary: state.humanSummary ?? null,
    halt: haltToJson(state),
    deployment: state.deployment ?? null,
    created_by: row.created_by,
    proposal_id: row.proposal_id === null ? null : Number(row.proposal_id),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** One story with its tasks, approvals and merge requests. */
export async function showStory(db: Kysely<Database>, id: number) {
  const row = await db
    .selectFrom('workflows')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', 'story')
    .executeTakeFirst();
  if (!row) throw new AutodevError('WORKFLOW_NOT_FOUND', `no story has id ${id}; "autodev stories list" shows them`);
  const tasks = await db.selectFrom('tasks').selectAll().where('workflow_id', '=', id).orderBy('id').execute();
  const approvals = await db.selectFrom('approvals').selectAll().where('workflow_id', '=', id).orderBy('id').execute();
  const mergeRequests = await db
    .selectFrom('merge_requests')
    .select(['id', 'source_branch', 'target_branch', 'status', 'head_sha', 'merge_sha'])
    .where('workflow_id', '=', id)
    .orderBy('id')
    .execute();
  // After the merge, the deploy step removes the story's checkouts and merged branches; it says what it kept.
  const deploy = tasks.findLast((t) => t.type === 'deploy' && t.result !== null);
  const cleanup = deploy ? (JSON.parse(deploy.result as string) as { cleanup?: WorkspaceCleanupView }).cleanup : null;
  return {
    ...storyToJson(row),
    body: row.body,
    tasks: tasks.map((t) => taskToJson(toTask(t))),
    approvals: approvals.map(approvalToJson),
    merge_requests: mergeRequests,
    workspace_cleanup: cleanup ?? null,
  };
}

/** What the deploy step's cleanup recorded (agents/clean-story-workspaces.ts). */
interface WorkspaceCleanupView {
  removed_checkouts: string[];
  deleted_branches: string[];
  kept_branches: { branch: string; reason: string; repository: string }[];
}
