/**
 * @module Human approvals (spec, merge, ...): list them, approve or reject one. A decision is final, records who,
 * when and why in the audit log, and moves the approval's workflow on, all in one transaction.
 */
import { learningsFromDecision, rememberLearnings, workflowRepoId } from '../memory/learn.js';
import type { Kysely, Selectable } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { ApprovalStatus, ApprovalsTable, Database } from '../store/schema.js';
import { advanceWorkflow, type WorkflowDeps } from './advance-workflow.js';

export type ApprovalRow = Selectable<ApprovalsTable>;

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'deferred'];

export function isApprovalStatus(value: string): value is ApprovalStatus {
  return (APPROVAL_STATUSES as readonly string[]).includes(value);
}

export async function listApprovals(db: Kysely<Database>, filter: { status?: string } = {}): Promise<ApprovalRow[]> {
  let query = db.selectFrom('approvals').selectAll().orderBy('id', 'asc');
  if (filter.status !== undefined) {
    if (!isApprovalStatus(filter.status)) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        `unknown approval status "${filter.status}"; use one of ${APPROVAL_STATUSES.join(', ')}`,
      );
    }
    query = query.where('status', '=', filter.status);
  }
  return query.execute();
}

export async function getApproval(db: Kysely<Database>, id: number): Promise<ApprovalRow> {
  const row = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row)
    throw new AutodevError('APPROVAL_NOT_FOUND', `no approval has id ${id}; "autodev approvals list" shows them`);
  return row;
}

export interface Decision {
  id: number;
  decision: 'approved' | 'rejected';
  /** Required to reject; optional note when approving. */
  reason?: string | undefined;
  /** Who decides: `cli:<user>`, `api:<token name>`. */
  actor: string;
}

/**
 * Approves or rejects a pending approval. Rejecting without a reason, an unknown id or an already decided approval
 * throw before anything is written.
 */
export async function decideApproval(
  db: Kysely<Database>,
  deps: WorkflowDeps,
  decision: Decision,
): Promise<ApprovalRow> {
  const reason = decision.reason?.trim() ?? '';
  if (decision.decision === 'rejected' && reason === '') {
    throw new AutodevError('REASON_REQUIRED', `rejecting approval ${decision.id} needs a reason (--reason "...")`);
  }
  return inTransaction(db, async (tx) => {
    const current = await getApproval(tx, decision.id);
    if (current.status !== 'pending') {
      throw new AutodevError(
        'APPROVAL_ALREADY_DECIDED',
        `approval ${decision.id} is already ${current.status}${current.decided_by ? ` by ${current.decided_by}` : ''}`,
      );
    }
    const now = deps.queue.clock();
    const updated = await tx
      .updateTable('approvals')
      .set({
        status: decision.decision,
        decided_by: decision.actor,
        reason: reason === '' ? null : reason,
        decided_at: now,
        updated_at: now,
      })
      .where('id', '=', decision.id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    // Another decision won the race between the read and the update.
    if (!updated) throw new AutodevError('APPROVAL_ALREADY_DECIDED', `approval ${decision.id} was decided meanwhile`);
    await recordEvent(tx, {
      kind: `approval.${decision.decision}`,
      subjectType: 'approval',
      subjectId: decision.id,
      actor: decision.actor,
      data: {
        kind: updated.kind,
        workflow_id: updated.workflow_id,
        decided_by: decision.actor,
        reason: updated.reason,
        decided_at: now,
      },
      now,
    });
    // What the decision teaches the swarm (a spec's decisions, a rejection's reason), kept with the decision.
    await rememberLearnings(tx, learningsFromDecision(updated), {
      repoId: await workflowRepoId(tx, updated.workflow_id),
      subject: `approval:${updated.id}`,
      actor: decision.actor,
      now,
    });
    if (updated.workflow_id !== null && updated.kind === 'project') {
      // A project decision is also the project's own audit entry (its detail lists them).
      await recordEvent(tx, {
        kind: `project.${decision.decision}`,
        subjectType: 'project',
        subjectId: updated.workflow_id,
        actor: decision.actor,
        data: { approval_id: updated.id, reason: updated.reason },
        now,
      });
    }
    if (updated.workflow_id !== null) {
      await advanceWorkflow(
        tx,
        deps,
        updated.workflow_id,
        { type: 'approval_decided', kind: updated.kind, decision: decision.decision, reason: updated.reason },
        decision.actor,
      );
    }
    return updated;
  });
}

/** The JSON shape of an approval in the API and `--json` output. */
export function approvalToJson(row: ApprovalRow) {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    subject_type: row.subject_type,
    subject_id: row.subject_id,
    title: row.title,
    body: row.body,
    workflow_id: row.workflow_id,
    decided_by: row.decided_by,
    reason: row.reason,
    decided_at: row.decided_at === null ? null : new Date(row.decided_at).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
  };
}

/**
 * The approvals as JSON with `merge_request_id`: for a merge approval, the newest merge request of its workflow (the
 * workflow opens or refreshes it in the transaction that opens the approval) — for a decided one, the newest opened by
 * the decision (a rejection's fix round may open a newer one for its new branch); else null.
 */
export async function approvalsToJson(db: Kysely<Database>, rows: readonly ApprovalRow[]) {
  const merges = rows.filter((row) => row.kind === 'merge' && row.workflow_id !== null);
  const requests =
    merges.length === 0
      ? []
      : await db
          .selectFrom('merge_requests')
          .select(['id', 'workflow_id', 'created_at'])
          .where('workflow_id', 'in', [...new Set(merges.map((row) => row.workflow_id!))])
          .orderBy('id', 'desc')
          .execute();
  return rows.map((row) => ({
    ...approvalToJson(row),
    merge_request_id:
      row.kind !== 'merge'
        ? null
        : (requests.find(
            (mr) => mr.workflow_id === row.workflow_id && (row.decided_at === null || mr.created_at <= row.decided_at),
          )?.id ?? null),
  }));
}
