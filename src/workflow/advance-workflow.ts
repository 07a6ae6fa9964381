/**
 * @module Applies the pure workflows to the database: loads a workflow row, steps it with an event through its kind's
 * entry in `workflow-kinds.ts` (story, product), and carries out the commands (tasks, approvals, ask a human; a
 * product's in `product-commands.ts`) in the caller's transaction, with an event row for each. Nothing
 * here calls a forge: the merge request is recorded from the local clone's branches (read only), and an approved merge
 * is a recorded intent, the deterministic `merge` task (`merge-step.ts`), carried out outside any transaction.
 */
import type { Kysely, Selectable } from 'kysely';
import { isTaskType } from '../domain/roles.js';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { openApproval } from './open-approval.js';
import { LocalForgeClient } from '../forge/local-forge-client.js';
import { workingCopyPath } from '../forge/working-copy.js';
import { forgeRepository } from '../forge/forge-clients.js';
import { recordMergeRequestOpened } from '../forge/merge-request-records.js';
import type { Task } from '../queue/task-record.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, WorkflowsTable } from '../store/schema.js';
import { applyProductCommand, productOfStory, syncProject, type StartStory } from './product-commands.js';
import { initialProductState, type ProductState } from './product-steps.js';
import { WORKFLOW_KINDS, type WorkflowEvent } from './workflow-kinds.js';
import {
  initialStoryState,
  type GateVerdict,
  type StoryCommand,
  type StoryEvent,
  type StoryState,
} from './workflow-steps.js';

export type WorkflowRow = Selectable<WorkflowsTable>;

/** Merges a workflow's branch; returns the event the workflow steps with (`merged` or `merge_refused`). */
export type MergeExecutor = (
  tx: Kysely<Database>,
  workflow: WorkflowRow,
  state: StoryState,
) => Promise<Extract<StoryEvent, { type: 'merged' | 'merge_refused' }>>;

export interface WorkflowDeps {
  queue: TaskQueue;
  maxFixRounds: number;
  /**
   * Carries out an approved merge at once, in the deciding transaction, instead of the `merge` task through the
   * repository's forge (workflows without a repository, tests).
   */
  merge?: MergeExecutor;
  /**
   * This process's data dir (agent processes): the merge request's head and target are read from its working copy
   * of the repository (`forge/working-copy.ts`), where the gates just read the branch; without it, from the
   * registered location.
   */
  dataDir?: string;
}

/** Who the workflow's own steps are created by (`tasks.created_by`). */
export const WORKFLOW_ACTOR = 'workflow';

export interface NewStory {
  title: string;
  body: string;
  repoId: number | null;
  createdBy: string;
}

/** Creates a story workflow and starts it at the PM, in `db`'s transaction (or a new one). */
export function startStoryWorkflow(db: Kysely<Database>, deps: WorkflowDeps, story: NewStory): Promise<WorkflowRow> {
  return inTransaction(db, async (tx) => {
    const now = deps.queue.clock();
    const state = initialStoryState(story.title, story.body);
    const row = await tx
      .insertInto('workflows')
      .values({
        kind: 'story',
        status: 'running',
        stage: state.stage,
        title: story.title,
        body: story.body,
        repo_id: story.repoId,
        state: JSON.stringify(state),
        created_by: story.createdBy,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: 'workflow.created',
      subjectType: 'workflow',
      subjectId: row.id,
      actor: story.createdBy,
      data: { kind: 'story', title: story.title, repo_id: story.repoId },
      now,
    });
    return advanceWorkflow(tx, deps, row.id, { type: 'started' }, story.createdBy);
  });
}

/**
 * A `build_product` result: the proposal a PM wrote (the contract's fields, validated before this runs). Its ratings
 * are the PM's (the market); the Architect's `evaluate_feasibility`, which the workflow runs next, adds the rest.
 */
export interface ProductProposal {
  name: string;
  title: string;
  problem: string;
  audience: string;
  spec_markdown: string;
  ratings: unknown;
  targets: string[];
  estimated_tokens: number;
}

/**
 * Creates a product workflow and its project from a `build_product` proposal and asks the Architect to assess it
 * (its project approval opens when the assessment is in), in `db`'s transaction. A name another project has gets a numbered suffix (`name-2`): the proposal is kept either way.
 */
export function startProductWorkflow(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  input: { proposal: ProductProposal; idea: string; sourceTaskId: number | null; createdBy: string },
): Promise<WorkflowRow> {
  return inTransaction(db, async (tx) => {
    const now = deps.queue.clock();
    const { proposal } = input;
    const state = initialProductState(proposal.title);
    const row = await tx
      .insertInto('workflows')
      .values({
        kind: 'product',
        status: state.status,
        stage: state.stage,
        title: proposal.title,
        body: proposal.problem,
        repo_id: null,
        state: JSON.stringify(state),
        created_by: input.createdBy,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const name = await freeProjectName(tx, proposal.name);
    await tx
      .insertInto('projects')
      .values({
        workflow_id: row.id,
        name,
        title: proposal.title,
        idea: input.idea,
        problem: proposal.problem,
        audience: proposal.audience,
        spec_markdown: proposal.spec_markdown,
        ratings: JSON.stringify(proposal.ratings),
        targets: JSON.stringify(proposal.targets),
        estimated_tokens: proposal.estimated_tokens,
        status: 'proposed',
        deferred_until: null,
        proposed_by: input.createdBy,
        source_task_id: input.sourceTaskId,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await recordEvent(tx, {
      kind: 'workflow.created',
      subjectType: 'workflow',
      subjectId: row.id,
      actor: input.createdBy,
      data: { kind: 'product', title: proposal.title, name, source_task_id: input.sourceTaskId },
      now,
    });
    return advanceWorkflow(tx, deps, row.id, { type: 'started' }, input.createdBy);
  });
}

async function freeProjectName(tx: Kysely<Database>, wanted: string): Promise<string> {
  const taken = new Set(
    (
      await tx
        .selectFrom('projects')
        .select('name')
        .where((eb) => eb.or([eb('name', '=', wanted), eb('name', 'like', `${wanted}-%`)]))
        .execute()
    ).map((r) => r.name),
  );
  const repos = new Set((await tx.selectFrom('repositories').select('name').execute()).map((r) => r.name));
  for (let n = 1; ; n += 1) {
    const name = n === 1 ? wanted : `${wanted.slice(0, 95)}-${n}`;
    if (!taken.has(name) && !repos.has(name)) return name;
  }
}

async function loadForUpdate(tx: Kysely<Database>, deps: WorkflowDeps, id: number): Promise<WorkflowRow> {
  const query = tx.selectFrom('workflows').selectAll().where('id', '=', id);
  // Two gates completing at once must not both see "two of three in": PostgreSQL locks the row; SQLite's single
  // writer (BEGIN IMMEDIATE) already serializes the transactions.
  const row = await (deps.queue.handle.dialect.serializesWriters ? query : query.forUpdate()).executeTakeFirst();
  if (!row) throw new AutodevError('WORKFLOW_NOT_FOUND', `no workflow has id ${id}`);
  return row;
}

/** Steps workflow `id` with `event` and applies the result, all in `db`'s transaction. Returns the updated row. */
export function advanceWorkflow(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  id: number,
  event: WorkflowEvent,
  actor: string,
): Promise<WorkflowRow> {
  return inTransaction(db, async (tx) => {
    let row = await loadForUpdate(tx, deps, id);
    // A cancelled story (cancel-story.ts) takes no more steps: its late task results and decisions are ignored.
    if (row.status === 'cancelled') {
      await recordIgnored(tx, deps, row, event, actor, { stage: row.stage, status: row.status });
      return row;
    }
    let pending: WorkflowEvent | undefined = event;
    while (pending) {
      const current: WorkflowEvent = pending;
      pending = undefined;
      const stepped: Stepped | undefined =
        row.kind === 'product'
          ? await stepProductRow(tx, deps, row, current, actor)
          : await stepStoryRow(tx, deps, row, current, actor);
      if (!stepped) break;
      row = stepped.row;
      pending = stepped.next;
    }
    return row;
  });
}

interface Stepped {
  row: WorkflowRow;
  /** The event a command produced, stepped next. */
  next: WorkflowEvent | undefined;
}

async function recordIgnored(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  event: WorkflowEvent,
  actor: string,
  state: { stage: string; status: string } = JSON.parse(row.state) as { stage: string; status: string },
): Promise<undefined> {
  await recordEvent(tx, {
    kind: 'workflow.event_ignored',
    subjectType: 'workflow',
    subjectId: row.id,
    actor,
    data: { event: event.type, stage: state.stage, status: state.status },
    now: deps.queue.clock(),
  });
  return undefined;
}

async function stepStoryRow(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  event: WorkflowEvent,
  actor: string,
): Promise<Stepped | undefined> {
  const kind = WORKFLOW_KINDS.story;
  const before = JSON.parse(row.state) as StoryState;
  const outcome = kind.accepts(event) ? kind.step(before, event, { maxFixRounds: deps.maxFixRounds }) : undefined;
  if (!outcome?.applied) return recordIgnored(tx, deps, row, event, actor);
  const saved = await saveState(tx, deps, row, before.stage, outcome.state, kind.columns(outcome.state), event, actor, {
    round: outcome.state.round,
  });
  let next: WorkflowEvent | undefined;
  for (const command of outcome.commands) {
    const produced = await applyCommand(tx, deps, saved, outcome.state, command);
    if (produced) next = produced;
  }
  // A story that builds a product tells its product when it is done.
  if (outcome.state.status === 'completed' && before.status !== 'completed') {
    const product = await productOfStory(tx, saved.id);
    if (product !== undefined) {
      await advanceWorkflow(tx, deps, product, { type: 'story_completed', storyId: saved.id }, actor);
    }
  }
  return { row: saved, next };
}

async function stepProductRow(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  event: WorkflowEvent,
  actor: string,
): Promise<Stepped | undefined> {
  const kind = WORKFLOW_KINDS.product;
  const before = JSON.parse(row.state) as ProductState;
  const outcome = kind.accepts(event) ? kind.step(before, event, { maxFixRounds: deps.maxFixRounds }) : undefined;
  if (!outcome?.applied) return recordIgnored(tx, deps, row, event, actor);
  const saved = await saveState(
    tx,
    deps,
    row,
    before.stage,
    outcome.state,
    kind.columns(outcome.state),
    event,
    actor,
    kind.eventData(outcome.state),
  );
  await syncProject(tx, deps, saved, outcome.state);
  const startStory: StartStory = (inner, story) => startStoryWorkflow(inner, deps, story);
  let next: WorkflowEvent | undefined;
  for (const command of outcome.commands) {
    const produced = await applyProductCommand(tx, deps, saved, outcome.state, command, startStory, actor);
    if (produced) next = produced;
  }
  return { row: saved, next };
}

async function saveState(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  fromStage: string,
  after: unknown,
  columns: { stage: string; status: WorkflowRow['status']; fix_rounds: number },
  event: WorkflowEvent,
  actor: string,
  extra: Record<string, unknown>,
): Promise<WorkflowRow> {
  const now = deps.queue.clock();
  const updated = await tx
    .updateTable('workflows')
    .set({
      state: JSON.stringify(after),
      stage: columns.stage,
      status: columns.status,
      fix_rounds: columns.fix_rounds,
      updated_at: now,
    })
    .where('id', '=', row.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordEvent(tx, {
    kind: 'workflow.advanced',
    subjectType: 'workflow',
    subjectId: row.id,
    actor,
    data: { event: event.type, from: fromStage, to: columns.stage, status: columns.status, ...extra },
    now,
  });
  return updated;
}

async function applyCommand(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  state: StoryState,
  command: StoryCommand,
): Promise<StoryEvent | undefined> {
  const now = deps.queue.clock();
  switch (command.kind) {
    case 'enqueue':
      await deps.queue.enqueue(
        {
          type: command.taskType,
          payload: { ...command.payload, workflow_id: row.id },
          parentId: command.parentTaskId ?? null,
          workflowId: row.id,
          repoId: row.repo_id,
          createdBy: WORKFLOW_ACTOR,
        },
        tx,
      );
      return undefined;
    case 'open_approval': {
      if (command.approvalKind === 'merge') await openMergeRequest(tx, deps, row, state);
      await openApproval(tx, {
        kind: command.approvalKind,
        workflowId: row.id,
        subjectType: 'workflow',
        title: command.title,
        body: command.body,
        actor: WORKFLOW_ACTOR,
        now,
      });
      return undefined;
    }
    case 'merge':
      if (deps.merge) return deps.merge(tx, row, state);
      return enqueueMerge(tx, deps, row, state);
    case 'ask_human':
      await recordEvent(tx, {
        kind: 'workflow.waiting_for_human',
        subjectType: 'workflow',
        subjectId: row.id,
        actor: WORKFLOW_ACTOR,
        data: { summary: command.summary },
        now,
      });
      return undefined;
  }
}

/**
 * Records (or refreshes) the workflow's merge request with the head and target the gates passed on, read from the
 * repository's local clone (no forge call: pushing and opening it in a remote forge is the merge step's).
 */
async function openMergeRequest(tx: Kysely<Database>, deps: WorkflowDeps, row: WorkflowRow, state: StoryState) {
  // A merge executor stands in for the forge entirely: no merge request either.
  if (deps.merge || row.repo_id === null || !state.branch) return;
  const repo = await tx.selectFrom('repositories').selectAll().where('id', '=', row.repo_id).executeTakeFirstOrThrow();
  const location = deps.dataDir === undefined ? repo.location : workingCopyPath(repo, deps.dataDir);
  const clone = new LocalForgeClient({ ...forgeRepository({ ...repo, location }), remoteUrl: null });
  const opened = await clone.openMergeRequest({
    sourceBranch: state.branch,
    title: state.title,
    description: state.body,
  });
  await recordMergeRequestOpened(tx, {
    repoId: repo.id,
    workflowId: row.id,
    opened,
    description: state.body,
    externalId: null,
    actor: WORKFLOW_ACTOR,
    now: deps.queue.clock(),
  });
}

/**
 * The approved merge as a recorded intent: the deterministic `merge` task, enqueued in the deciding transaction. A
 * workflow without a repository or an open merge request cannot merge: FORGE_UNAVAILABLE rolls the decision back.
 */
async function enqueueMerge(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  state: StoryState,
): Promise<undefined> {
  if (row.repo_id === null) {
    throw new AutodevError('FORGE_UNAVAILABLE', `workflow ${row.id}: no forge is configured to merge its branch`);
  }
  const mr = await tx
    .selectFrom('merge_requests')
    .select('id')
    .where('workflow_id', '=', row.id)
    .where('status', '=', 'open')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!mr) {
    throw new AutodevError(
      'FORGE_UNAVAILABLE',
      `workflow ${row.id} has no open merge request for ${state.branch ?? '?'}`,
    );
  }
  await deps.queue.enqueue(
    {
      type: 'merge',
      payload: { workflow_id: row.id, merge_request_id: mr.id },
      workflowId: row.id,
      repoId: row.repo_id,
      createdBy: WORKFLOW_ACTOR,
    },
    tx,
  );
  return undefined;
}

/** The event a completed workflow task is for its workflow. */
export function taskCompletedEvent(task: Task, result: unknown, deterministic?: GateVerdict): StoryEvent {
  const round = task.payload.round;
  return {
    type: 'task_completed',
    taskId: task.id,
    taskType: task.type,
    result,
    payload: task.payload,
    ...(typeof round === 'number' ? { round } : {}),
    ...(deterministic ? { deterministic } : {}),
  };
}

/**
 * The hook the agent runtime calls inside the transaction that completes a task: a task of a workflow moves its
 * workflow on. `deterministic` is the gate's verdict computed BEFORE this transaction (test run, secret scan, lint:
 * they take seconds to minutes and must not hold it). Tasks without a workflow are left alone.
 */
export async function onWorkflowTaskCompleted(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  task: Task,
  result: unknown,
  actor: string,
  deterministic?: GateVerdict,
): Promise<void> {
  // A finished `build_product` proposal (from an idea or an approved swarm proposal) becomes a product workflow.
  if (task.workflowId === null && task.type === 'build_product') {
    const done = result as { status?: string } & Partial<ProductProposal>;
    if (done.status !== 'done') return;
    const payload = task.payload as { idea?: unknown; details?: unknown };
    const idea = [payload.idea, payload.details].filter((p): p is string => typeof p === 'string').join('\n\n');
    await startProductWorkflow(tx, deps, {
      proposal: done as ProductProposal,
      idea: idea || (done.title ?? ''),
      sourceTaskId: task.id,
      createdBy: actor,
    });
    return;
  }
  if (task.workflowId === null || !isTaskType(task.type)) return;
  await advanceWorkflow(tx, deps, task.workflowId, taskCompletedEvent(task, result, deterministic), actor);
}

/**
 * The dead-letter hook (the queue's `onDeadLetter`, in the transaction that marks the task `failed` for good): a task
 * of a workflow that ran out of attempts stops its workflow, which waits for a human with the error. `branch` is the
 * branch the task's work is on (the agent runtime knows it), which a resume continues.
 */
export async function onWorkflowTaskDeadLettered(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  task: Task,
  error: string,
  actor: string,
  branch?: string,
): Promise<void> {
  if (task.workflowId === null || !isTaskType(task.type)) return;
  const round = task.payload.round;
  await advanceWorkflow(
    tx,
    deps,
    task.workflowId,
    {
      type: 'task_failed',
      taskId: task.id,
      taskType: task.type,
      error,
      payload: task.payload,
      ...(typeof round === 'number' ? { round } : {}),
      ...(branch ? { branch } : {}),
    },
    actor,
  );
}

export const MAX_RESUME_NOTE = 4_000;

/**
 * A human resumes workflow `id`, which waits for one (`autodev stories resume`, `POST /api/stories/:id/resume`): it
 * continues where it stopped (see `stepStory`), with `workflow.resumed` naming who and why. A workflow that is not
 * waiting: WORKFLOW_NOT_WAITING, nothing changed.
 */
export async function resumeWorkflow(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  id: number,
  input: { note?: string | null | undefined; actor: string },
): Promise<WorkflowRow> {
  const note = input.note?.trim() ? input.note.trim() : null;
  if (note !== null && note.length > MAX_RESUME_NOTE) {
    throw new AutodevError('VALIDATION_FAILED', `the note must be at most ${MAX_RESUME_NOTE} characters`);
  }
  return inTransaction(db, async (tx) => {
    const row = await loadForUpdate(tx, deps, id);
    const state = JSON.parse(row.state) as StoryState;
    if (row.status !== 'waiting_for_human' || state.status !== 'waiting_for_human') {
      throw new AutodevError(
        'WORKFLOW_NOT_WAITING',
        `story ${id} is ${row.status} (stage ${row.stage}), not waiting for a human; there is nothing to resume`,
      );
    }
    await recordEvent(tx, {
      kind: 'workflow.resumed',
      subjectType: 'workflow',
      subjectId: id,
      actor: input.actor,
      data: { note, resumed_by: input.actor, halt: state.halt ?? null, summary: state.humanSummary ?? null },
      now: deps.queue.clock(),
    });
    const after = await advanceWorkflow(tx, deps, id, { type: 'resumed', note }, input.actor);
    if (after.status !== 'running') {
      throw new AutodevError('WORKFLOW_NOT_WAITING', `story ${id} cannot be resumed: it has no branch to fix yet`);
    }
    return after;
  });
}
