/**
 * @module A change-log follower's position kept in the database (`event_log_cursors`, migration 0026), so a
 * follower that restarts (or another replica) resumes where the last one stopped. The first start ever begins at
 * "now" (`eventLogNow`); after that, `advanceStoredCursor` moves the row forward only, in one conditional statement
 * (`(xid, event_id)` below the new position, the log's own order), so followers sharing a name never move it back
 * however their writes interleave. A follower handles a batch first and advances after it: a crash in between makes
 * the next one read the batch again (at least once), so what it does with a row must be idempotent (the notifier's
 * outbox dedupe key).
 */
import type { Kysely } from 'kysely';
import type { DatabaseHandle } from '../store/open-database.js';
import type { Database } from '../store/schema.js';
import { eventLogNow, type EventCursor } from './read-events.js';

type CursorHandle = Pick<DatabaseHandle, 'db' | 'dialect'>;

/** The stored cursor named `name`, or undefined when that follower never started. */
export async function loadStoredCursor(db: Kysely<Database>, name: string): Promise<EventCursor | undefined> {
  const row = await db.selectFrom('event_log_cursors').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) return undefined;
  return {
    xid: Number(row.xid),
    id: Number(row.event_id),
    ...(row.snapshot === null ? {} : { before: row.snapshot }),
  };
}

/** The stored cursor named `name`; the first call ever stores "now" (racing first calls agree on one row). */
export async function startStoredCursor(handle: CursorHandle, name: string, now: number): Promise<EventCursor> {
  const stored = await loadStoredCursor(handle.db, name);
  if (stored) return stored;
  const fresh = await eventLogNow(handle);
  await handle.db
    .insertInto('event_log_cursors')
    .values({ name, xid: fresh.xid, event_id: fresh.id, snapshot: fresh.before ?? null, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  // Another follower may have stored its "now" first: everyone follows that one.
  return (await loadStoredCursor(handle.db, name)) ?? fresh;
}

/** Stores `cursor` if it is past the stored one (never backwards); true when it moved the row. */
export async function advanceStoredCursor(
  db: Kysely<Database>,
  name: string,
  cursor: EventCursor,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('event_log_cursors')
    .set({ xid: cursor.xid, event_id: cursor.id, snapshot: cursor.before ?? null, updated_at: now })
    .where('name', '=', name)
    .where((eb) =>
      eb.or([eb('xid', '<', cursor.xid), eb.and([eb('xid', '=', cursor.xid), eb('event_id', '<', cursor.id)])]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The later of two positions in the log (`a` when they are the same). */
export function laterCursor(a: EventCursor, b: EventCursor): EventCursor {
  return b.xid > a.xid || (b.xid === a.xid && b.id > a.id) ? b : a;
}
