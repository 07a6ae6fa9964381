/**
 * @module Opens a pending approval for a workflow (any kind: spec, merge, project, publish) and records its
 * `approval.created` event, in the caller's transaction. The one writer of new approval rows for workflows.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { ApprovalKind, Database } from '../store/schema.js';

export interface NewApproval {
  kind: ApprovalKind;
  workflowId: number;
  /** What the approval is about: the workflow itself (a story's gates) or the project (a product's gates). */
  subjectType: 'workflow' | 'project';
  title: string;
  body: string;
  actor: string;
  now: number;
  /** More for the event's data (e.g. `project_id`). */
  eventData?: Record<string, unknown>;
}

/** Inserts the pending approval and its event; returns the approval's id. */
export async function openApproval(tx: Kysely<Database>, approval: NewApproval): Promise<number> {
  const row = await tx
    .insertInto('approvals')
    .values({
      kind: approval.kind,
      status: 'pending',
      subject_type: approval.subjectType,
      subject_id: String(approval.workflowId),
      title: approval.title,
      body: approval.body,
      workflow_id: approval.workflowId,
      created_at: approval.now,
      updated_at: approval.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordEvent(tx, {
    kind: 'approval.created',
    subjectType: 'approval',
    subjectId: row.id,
    actor: approval.actor,
    data: { kind: approval.kind, workflow_id: approval.workflowId, ...approval.eventData, title: approval.title },
    now: approval.now,
  });
  return row.id;
}
