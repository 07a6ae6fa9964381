/**
 * @module The one owner of `forge_writes` rows (migration 0018): what Auto-Dev means to write into a GitLab/GitHub
 * forge for a task, and what came of it. A task's whole plan is recorded at once (`recordForgeWritePlan`; a plan
 * recorded by an earlier attempt stands, so a retry carries out the same writes whatever its new result says); each
 * write is marked `calling` before its forge call and `done`/`failed` after, each in its own short transaction and
 * never around the call. A write found `calling` by a later attempt is `uncertain` (a crash came between the call
 * and its record) and is never repeated. It calls no forge.
 */
import type { Kysely, Selectable } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import { inTransaction } from '../store/in-transaction.js';
import type { Database, ForgeWriteKind, ForgeWritesTable, ForgeWriteStatus } from '../store/schema.js';

export type ForgeWriteRow = Selectable<ForgeWritesTable>;

export interface PlannedForgeWrite {
  key: string;
  kind: ForgeWriteKind;
  /** What to write (JSON-serializable), read back by the writer. */
  request: Record<string, unknown>;
}

/** The task's writes in plan order. */
export function forgeWritesOf(db: Kysely<Database>, taskId: number): Promise<ForgeWriteRow[]> {
  return db.selectFrom('forge_writes').selectAll().where('task_id', '=', taskId).orderBy('id').execute();
}

/**
 * Records `plan` as the task's writes unless an earlier attempt recorded a plan (then that one stands); marks writes
 * an earlier attempt left `calling` as `uncertain`. Returns the task's writes in plan order.
 */
export async function recordForgeWritePlan(
  db: Kysely<Database>,
  input: { taskId: number; repoId: number; plan: readonly PlannedForgeWrite[]; now: number },
): Promise<ForgeWriteRow[]> {
  await inTransaction(db, async (tx) => {
    const earlier = await tx
      .selectFrom('forge_writes')
      .select('id')
      .where('task_id', '=', input.taskId)
      .executeTakeFirst();
    if (earlier) {
      await tx
        .updateTable('forge_writes')
        .set({
          status: 'uncertain',
          detail: JSON.stringify({ reason: 'an earlier attempt stopped during the forge call; not repeated' }),
          updated_at: input.now,
        })
        .where('task_id', '=', input.taskId)
        .where('status', '=', 'calling')
        .execute();
      return;
    }
    if (input.plan.length === 0) return;
    await tx
      .insertInto('forge_writes')
      .values(
        input.plan.map((w) => ({
          write_key: w.key,
          task_id: input.taskId,
          repo_id: input.repoId,
          kind: w.kind,
          status: 'planned' as const,
          request: JSON.stringify(w.request),
          external_id: null,
          url: null,
          created_at: input.now,
          updated_at: input.now,
        })),
      )
      .execute();
  });
  return forgeWritesOf(db, input.taskId);
}

/** Marks a write as being called (its own transaction, committed before the forge call). */
export async function markForgeWriteCalling(db: Kysely<Database>, id: number, now: number): Promise<void> {
  await db
    .updateTable('forge_writes')
    .set({ status: 'calling', updated_at: now })
    .where('id', '=', id)
    .where('status', 'in', ['planned', 'failed'])
    .execute();
}

/** Records a write's outcome and its `forge.written` / `forge.write_failed` event. */
export async function recordForgeWriteOutcome(
  db: Kysely<Database>,
  row: ForgeWriteRow,
  outcome: {
    status: Exclude<ForgeWriteStatus, 'planned' | 'calling'>;
    externalId?: string | null;
    url?: string | null;
    detail?: Record<string, unknown>;
  },
  meta: { actor: string; now: number },
): Promise<ForgeWriteRow> {
  return inTransaction(db, async (tx) => {
    const updated = await tx
      .updateTable('forge_writes')
      .set({
        status: outcome.status,
        external_id: outcome.externalId ?? null,
        url: outcome.url ?? null,
        detail: JSON.stringify(outcome.detail ?? {}),
        updated_at: meta.now,
      })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, {
      kind: outcome.status === 'done' ? 'forge.written' : `forge.write_${outcome.status}`,
      subjectType: 'task',
      subjectId: row.task_id,
      actor: meta.actor,
      data: {
        key: row.write_key,
        kind: row.kind,
        external_id: updated.external_id,
        url: updated.url,
        ...(outcome.detail ?? {}),
      },
      now: meta.now,
    });
    return updated;
  });
}
