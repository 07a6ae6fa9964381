/**
 * @module A human's decisions on a project proposal: approve, reject (with a reason), defer (with notes, optionally
 * until a date) and bring a deferred one back by hand; plus `bringBackDueProjects`, the due check the scheduler runs
 * (a deferred proposal whose date passed comes back: status `proposed`, a new pending `project` approval). Approve and
 * reject are the generic approval decision (`approvals.ts`) on the project's open approval, so
 * `POST /api/approvals/:id/approve` does exactly the same. Every decision is an event (`project.*`, `approval.*`).
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database } from '../store/schema.js';
import { advanceWorkflow, type WorkflowDeps } from './advance-workflow.js';
import { decideApproval } from './approvals.js';
import { getProject } from './projects.js';
import type { ProductState } from './product-steps.js';
import { retryTaskByHand } from './retry-task-by-hand.js';
import type { Task } from '../queue/task-record.js';

/** The longest reason or notes kept. */
export const MAX_DECISION_TEXT = 4_000;

function checkedText(value: string | undefined, what: string, code: 'REASON_REQUIRED' | 'VALIDATION_FAILED'): string {
  const text = value?.trim() ?? '';
  if (text === '') throw new AutodevError(code, `${what} is required`);
  if (text.length > MAX_DECISION_TEXT) {
    throw new AutodevError('VALIDATION_FAILED', `${what} must be at most ${MAX_DECISION_TEXT} characters`);
  }
  return text;
}

async function pendingProjectApproval(tx: Kysely<Database>, id: number, verb: string): Promise<number> {
  const project = await getProject(tx, id);
  const approval = await tx
    .selectFrom('approvals')
    .select('id')
    .where('workflow_id', '=', id)
    .where('kind', '=', 'project')
    .where('status', '=', 'pending')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (project.status === 'proposed' && !approval) {
    throw new AutodevError(
      'PROJECT_NOT_DECIDABLE',
      `project ${id} waits for the Architect's assessment (its evaluate_feasibility task): nothing to ${verb} yet`,
    );
  }
  if (project.status !== 'proposed' || !approval) {
    throw new AutodevError(
      'PROJECT_NOT_DECIDABLE',
      `project ${id} is ${project.status}, not proposed: there is nothing to ${verb}`,
    );
  }
  return approval.id;
}

export interface ProjectDecisionInput {
  id: number;
  actor: string;
}

/** Approves project `id`'s open proposal: its repository is created and the story building it starts. */
export async function approveProject(db: Kysely<Database>, deps: WorkflowDeps, input: ProjectDecisionInput) {
  return inTransaction(db, async (tx) => {
    const approvalId = await pendingProjectApproval(tx, input.id, 'approve');
    return decideApproval(tx, deps, { id: approvalId, decision: 'approved', actor: input.actor });
  });
}

/** Rejects project `id`'s open proposal, keeping the reason (required); it is never built. */
export async function rejectProject(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  input: ProjectDecisionInput & { reason: string | undefined },
) {
  const reason = checkedText(input.reason, `rejecting project ${input.id} needs a reason, which`, 'REASON_REQUIRED');
  return inTransaction(db, async (tx) => {
    const approvalId = await pendingProjectApproval(tx, input.id, 'reject');
    return decideApproval(tx, deps, { id: approvalId, decision: 'rejected', reason, actor: input.actor });
  });
}

/**
 * Defers project `id`'s open proposal with notes (required), until `until` (ms; null: until a human brings it back).
 * The approval ends `deferred` with the notes as its reason; the project waits, `deferred`.
 */
export async function deferProject(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  input: ProjectDecisionInput & { notes: string | undefined; until: number | null },
) {
  const notes = checkedText(input.notes, `deferring project ${input.id} needs notes, which`, 'VALIDATION_FAILED');
  return inTransaction(db, async (tx) => {
    const approvalId = await pendingProjectApproval(tx, input.id, 'defer');
    const now = deps.queue.clock();
    if (input.until !== null && input.until <= now) {
      throw new AutodevError('VALIDATION_FAILED', `the date to bring project ${input.id} back must be in the future`);
    }
    const updated = await tx
      .updateTable('approvals')
      .set({ status: 'deferred', decided_by: input.actor, reason: notes, decided_at: now, updated_at: now })
      .where('id', '=', approvalId)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw new AutodevError('APPROVAL_ALREADY_DECIDED', `approval ${approvalId} was decided meanwhile`);
    await recordEvent(tx, {
      kind: 'approval.deferred',
      subjectType: 'approval',
      subjectId: approvalId,
      actor: input.actor,
      data: { kind: 'project', workflow_id: input.id, decided_by: input.actor, reason: notes, decided_at: now },
      now,
    });
    await recordEvent(tx, {
      kind: 'project.deferred',
      subjectType: 'project',
      subjectId: input.id,
      actor: input.actor,
      data: { approval_id: approvalId, reason: notes, until: input.until },
      now,
    });
    await advanceWorkflow(
      tx,
      deps,
      input.id,
      { type: 'approval_decided', kind: 'project', decision: 'deferred', reason: notes },
      input.actor,
    );
    await tx.updateTable('projects').set({ deferred_until: input.until }).where('workflow_id', '=', input.id).execute();
    return updated;
  });
}

/**
 * Brings deferred project `id` back (a human, or the due check as `scheduler`): status `proposed` and a new pending
 * project approval. A project that is not deferred: PROJECT_NOT_DECIDABLE, nothing changed.
 */
export async function reopenProject(db: Kysely<Database>, deps: WorkflowDeps, input: ProjectDecisionInput) {
  return inTransaction(db, async (tx) => {
    // Lock the product workflow first (PostgreSQL; SQLite's single writer already serializes): two schedulers or a
    // scheduler and a human racing bring it back once, and the loser sees `proposed`.
    if (!deps.queue.handle.dialect.serializesWriters) {
      await tx.selectFrom('workflows').select('id').where('id', '=', input.id).forUpdate().execute();
    }
    const project = await getProject(tx, input.id);
    if (project.status !== 'deferred') {
      throw new AutodevError(
        'PROJECT_NOT_DECIDABLE',
        `project ${input.id} is ${project.status}, not deferred: there is nothing to bring back`,
      );
    }
    await advanceWorkflow(tx, deps, input.id, { type: 'brought_back' }, input.actor);
    await tx.updateTable('projects').set({ deferred_until: null }).where('workflow_id', '=', input.id).execute();
    await recordEvent(tx, {
      kind: 'project.brought_back',
      subjectType: 'project',
      subjectId: input.id,
      actor: input.actor,
      data: { reason: null, deferred_until: project.deferred_until },
      now: deps.queue.clock(),
    });
    return getProject(tx, input.id);
  });
}

/**
 * The due check: every deferred project whose date is at or before `now` comes back, each in its own transaction.
 * Idempotent: two schedulers racing bring each back once (the loser's workflow step no longer applies). Returns the
 * ids it brought back.
 */
export async function bringBackDueProjects(db: Kysely<Database>, deps: WorkflowDeps, actor: string): Promise<number[]> {
  const due = await db
    .selectFrom('projects')
    .select('workflow_id')
    .where('status', '=', 'deferred')
    .where('deferred_until', 'is not', null)
    .where('deferred_until', '<=', deps.queue.clock())
    .orderBy('workflow_id', 'asc')
    .execute();
  const back: number[] = [];
  for (const { workflow_id: id } of due) {
    try {
      await reopenProject(db, deps, { id, actor });
      back.push(id);
    } catch (error) {
      if (error instanceof AutodevError && error.code === 'PROJECT_NOT_DECIDABLE') continue;
      throw error;
    }
  }
  return back;
}

/**
 * A human retries project `id` where it failed: a failed publishing runs its last `publish_product` task again (its
 * journals make it send only what is not published yet); a product directory that failed its check is checked again
 * (after a story fixed it); a failed (or blocked) assessment asks the Architect again (a new `evaluate_feasibility`
 * task). Any other state: PROJECT_NOT_DECIDABLE, nothing changed.
 */
export async function retryProject(
  deps: WorkflowDeps,
  id: number,
  actor: string,
): Promise<{ retried: 'publish_product'; task: Task } | { retried: 'check_product' | 'evaluate_feasibility' }> {
  const { queue } = deps;
  const db = queue.handle.db;
  const project = await getProject(db, id);
  const workflow = await db.selectFrom('workflows').select('state').where('id', '=', id).executeTakeFirstOrThrow();
  const failedAt = (JSON.parse(workflow.state) as ProductState).failedAt;
  if (project.status === 'failed' && failedAt === 'check_product') {
    await advanceWorkflow(db, deps, id, { type: 'recheck_requested' }, actor);
    return { retried: 'check_product' };
  }
  if (project.status === 'failed' && failedAt === 'assessing') {
    await advanceWorkflow(db, deps, id, { type: 'reassess_requested' }, actor);
    return { retried: 'evaluate_feasibility' };
  }
  const task = await db
    .selectFrom('tasks')
    .select(['id', 'status'])
    .where('workflow_id', '=', id)
    .where('type', '=', 'publish_product')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (project.status !== 'failed' || task?.status !== 'failed') {
    throw new AutodevError(
      'PROJECT_NOT_DECIDABLE',
      `project ${id} is ${project.status}${task ? ` (publish task ${task.id} ${task.status})` : ''}: ` +
        'only a failed assessment, product check or publishing can be retried',
    );
  }
  return { retried: 'publish_product', task: await retryTaskByHand(queue, task.id, actor) };
}

/** Parses `--until` / `until`: an ISO 8601 date or time; VALIDATION_FAILED names the bad value. */
export function parseUntil(text: string | undefined | null): number | null {
  if (text === undefined || text === null || text.trim() === '') return null;
  const value = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(value)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `"${text}" is not a date; use ISO 8601, e.g. 2027-01-15 or 2027-01-15T09:00Z`,
    );
  }
  return value;
}
