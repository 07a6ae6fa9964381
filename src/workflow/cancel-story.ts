/**
 * @module Cancels a story (`POST /api/stories/:id/cancel`, the story page's "Cancel story"): in one transaction the
 * workflow becomes `cancelled`, its pending and in-progress tasks are cancelled (a worker holding one loses its lease
 * at its next heartbeat) and its open approvals are rejected with the reason, so nothing moves it on afterwards
 * (`advanceWorkflow` ignores a cancelled story). A story that is done or cancelled already: 409, nothing changed.
 */
import type { Kysely } from 'kysely';
import { AutodevError } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import { cancelTask } from '../queue/task-controls.js';
import type { Database } from '../store/schema.js';
import type { WorkflowRow } from './advance-workflow.js';

export async function cancelStory(
  db: Kysely<Database>,
  id: number,
  request: { actor: string; reason?: string | undefined; now: number },
): Promise<WorkflowRow> {
  return inTransaction(db, async (tx) => {
    const reason = request.reason?.trim() || `story cancelled by ${request.actor}`;
    const row = await tx
      .updateTable('workflows')
      .set({ status: 'cancelled', updated_at: request.now })
      .where('id', '=', id)
      .where('kind', '=', 'story')
      .where('status', 'in', ['running', 'waiting_for_human'])
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      const existing = await tx
        .selectFrom('workflows')
        .select('status')
        .where('id', '=', id)
        .where('kind', '=', 'story')
        .executeTakeFirst();
      if (!existing) {
        throw new AutodevError('WORKFLOW_NOT_FOUND', `no story has id ${id}; "autodev stories list" shows them`);
      }
      throw new AutodevError('STORY_NOT_CANCELLABLE', `story ${id} is ${existing.status}; there is nothing to cancel`);
    }
    const open = await tx
      .selectFrom('tasks')
      .select('id')
      .where('workflow_id', '=', id)
      .where('status', 'in', ['pending', 'in_progress'])
      .execute();
    for (const task of open) await cancelTask(tx, task.id, { actor: request.actor, now: request.now, reason });
    await tx
      .updateTable('approvals')
      .set({ status: 'rejected', decided_by: request.actor, reason, decided_at: request.now, updated_at: request.now })
      .where('workflow_id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    await recordEvent(tx, {
      kind: 'workflow.cancelled',
      subjectType: 'workflow',
      subjectId: id,
      actor: request.actor,
      data: { reason, cancelled_tasks: open.map((t) => t.id) },
      now: request.now,
    });
    return row;
  });
}
