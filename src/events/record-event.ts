/**
 * @module Appends to the audit and change log (`events`). Every state change calls this inside the transaction that
 * makes the change, so the log never disagrees with the rows. `GET /api/events` streams from this table.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export interface NewEvent {
  /** Dotted verb, e.g. `task.created`, `task.completed`, `approval.approved`. */
  kind: string;
  subjectType: string;
  subjectId: string | number;
  /** Who caused it: a worker id, `cli`, `api:<token name>`, `system`. */
  actor: string;
  data?: Record<string, unknown>;
  now: number;
}

export async function recordEvent(db: Kysely<Database>, event: NewEvent): Promise<void> {
  await db
    .insertInto('events')
    .values({
      kind: event.kind,
      subject_type: event.subjectType,
      subject_id: String(event.subjectId),
      actor: event.actor,
      data: JSON.stringify(event.data ?? {}),
      created_at: event.now,
    })
    .execute();
}
