/**
 * @module Operator instructions to a role (`autodev instruct ROLE MESSAGE`, `POST /api/agents/:role/instructions`):
 * stored as rows, handed to the role's next session, and marked delivered with that session's id.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Role } from '../domain/roles.js';
import type { Database } from '../store/schema.js';

export const MAX_INSTRUCTION_CHARS = 10_000;

export async function addInstruction(
  db: Kysely<Database>,
  instruction: { role: Role; message: string; createdBy: string; now: number },
): Promise<number> {
  const row = await db
    .insertInto('instructions')
    .values({
      role: instruction.role,
      message: instruction.message,
      created_by: instruction.createdBy,
      created_at: instruction.now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await recordEvent(db, {
    kind: 'instruction.created',
    subjectType: 'instruction',
    subjectId: row.id,
    actor: instruction.createdBy,
    data: { role: instruction.role },
    now: instruction.now,
  });
  return row.id;
}

export async function pendingInstructions(db: Kysely<Database>, role: Role) {
  return db
    .selectFrom('instructions')
    .select(['id', 'message', 'created_at'])
    .where('role', '=', role)
    .where('delivered_at', 'is', null)
    .orderBy('id')
    .execute();
}

/** Marks instructions delivered to a session; an instruction is delivered once, to the first session that gets it. */
export async function markInstructionsDelivered(
  db: Kysely<Database>,
  ids: readonly number[],
  delivery: { sessionId: number; now: number },
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('instructions')
    .set({ delivered_at: delivery.now, delivered_to_session_id: delivery.sessionId })
    .where('id', 'in', ids)
    .where('delivered_at', 'is', null)
    .execute();
  for (const id of ids) {
    await recordEvent(db, {
      kind: 'instruction.delivered',
      subjectType: 'instruction',
      subjectId: id,
      actor: 'system',
      data: { session_id: delivery.sessionId },
      now: delivery.now,
    });
  }
}

/**
 * Hands instructions back when the session they were delivered to did no work (it was rate limited before the model
 * ran): they go to the next session of the role, e.g. the one on the fallback provider.
 */
export async function returnUndeliveredInstructions(
  db: Kysely<Database>,
  sessionId: number,
  now: number,
): Promise<void> {
  const returned = await db
    .updateTable('instructions')
    .set({ delivered_at: null, delivered_to_session_id: null })
    .where('delivered_to_session_id', '=', sessionId)
    .returning('id')
    .execute();
  for (const { id } of returned) {
    await recordEvent(db, {
      kind: 'instruction.returned',
      subjectType: 'instruction',
      subjectId: id,
      actor: 'system',
      data: { session_id: sessionId, reason: 'the session was rate limited' },
      now,
    });
  }
}
