/**
 * @module Follows the change log (`events`) without ever skipping a row: every reader of the log (the SSE stream,
 * the demo's progress) reads through `readEvents` with an `EventCursor`, never with `id > last`.
 *
 * Why: on PostgreSQL two transactions take event ids from one sequence and may commit out of id order. A reader
 * that saw id 2 (committed) while id 1 was still uncommitted would, with `id > 2`, never read id 1.
 * How: each row records its writer's transaction id (`xid`, migration 0007). A transaction older than the oldest
 * one still in progress (`pg_snapshot_xmin`) has finished, so its rows are final; every row a later commit can add
 * has an xid at or above that horizon. So the log is read in `(xid, id)` order, only below the horizon, and the
 * cursor is the `(xid, id)` of the last row read: no later commit can land behind it. The price: an event shows
 * once every transaction older than its own has ended (a long writing transaction anywhere on the cluster holds the
 * stream back, it never loses it), and event ids in the stream are not always increasing.
 * SQLite has one writer at a time, so id order is commit order there and the cursor is the id alone.
 */
import { sql } from 'kysely';
import type { DatabaseHandle } from '../store/open-database.js';
import type { EventRow } from '../store/schema.js';

/** A position in the change log: everything at or before it has been read. */
export interface EventCursor {
  /** PostgreSQL: the transaction id of the last row read (0 on SQLite). */
  readonly xid: number;
  /** The id of the last row read (with `xid`, the order on PostgreSQL). */
  readonly id: number;
  /**
   * PostgreSQL, a cursor made by `eventLogNow`: the snapshot taken then (`pg_current_snapshot()` as text). Rows
   * visible in it had committed before "now" and are not read, though their xid may be above the horizon.
   */
  readonly before?: string | undefined;
}

type LogHandle = Pick<DatabaseHandle, 'db' | 'dialect'>;

export const START_OF_LOG: EventCursor = { xid: 0, id: 0 };

const COLUMNS = sql`id, kind, subject_type, subject_id, actor, data, created_at`;

/** A cursor at "now": reading from it returns only rows that commit after this call. */
export async function eventLogNow(handle: LogHandle): Promise<EventCursor> {
  if (handle.dialect.name === 'sqlite') {
    const row = await handle.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return { xid: 0, id: Number(row?.id ?? 0) };
  }
  const { rows } = await sql<{ xmin: string; snapshot: string }>`
    select (pg_snapshot_xmin(s)::text) as xmin, s::text as snapshot from pg_current_snapshot() as s`.execute(handle.db);
  const now = rows[0]!;
  // Rows below the horizon have all committed before now; those above it are checked against the snapshot.
  return { xid: Number(now.xmin) - 1, id: Number.MAX_SAFE_INTEGER, before: now.snapshot };
}

/**
 * The cursor just after event `id`, as a client that received it resumes (SSE `Last-Event-ID`, `?after=`). An id
 * that is not in the log (a made-up number) resumes after the nearest lower event.
 */
export async function eventCursorAfter(handle: LogHandle, id: number): Promise<EventCursor> {
  if (handle.dialect.name === 'sqlite') return { xid: 0, id };
  const { rows } = await sql<{ xid: number }>`
    select xid from events where id <= ${id} order by id desc limit 1`.execute(handle.db);
  return { xid: Number(rows[0]?.xid ?? 0), id };
}

/** The snapshot's check is moot once the cursor passed its xmax (`xmin:xmax:xip,...`): no later xid is visible in it. */
function stillBefore(snapshot: string | undefined, xid: number): string | undefined {
  if (!snapshot) return undefined;
  return Number(xid) >= Number(snapshot.split(':')[1]) ? undefined : snapshot;
}

/**
 * Up to `limit` rows after `cursor`, in log order, the cursor after them (the same one when none), and each row's
 * own position (`positions[i]`: the cursor just after `rows[i]`).
 */
export async function readEvents(
  handle: LogHandle,
  cursor: EventCursor,
  limit: number,
): Promise<{ rows: EventRow[]; cursor: EventCursor; positions: EventCursor[] }> {
  if (handle.dialect.name === 'sqlite') {
    const rows = await handle.db
      .selectFrom('events')
      .selectAll()
      .where('id', '>', cursor.id)
      .orderBy('id')
      .limit(limit)
      .execute();
    const positions = rows.map((row) => ({ xid: 0, id: row.id }));
    return { rows, cursor: positions.at(-1) ?? cursor, positions };
  }
  const notBefore = cursor.before
    ? sql`and not pg_visible_in_snapshot((xid::text)::xid8, ${cursor.before}::pg_snapshot)`
    : sql``;
  // `xid >= cursor.xid` alone lets the BRIN index find the unread tail; the row comparison does the rest.
  const { rows } = await sql<EventRow & { xid: number }>`
    select ${COLUMNS}, xid from events
    where xid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint
      and xid >= ${cursor.xid} and (xid, id) > (${cursor.xid}::bigint, ${cursor.id}::bigint)
      ${notBefore}
    order by xid, id
    limit ${limit}`.execute(handle.db);
  const positions: EventCursor[] = rows.map((row) => ({
    xid: Number(row.xid),
    id: Number(row.id),
    before: stillBefore(cursor.before, row.xid),
  }));
  return {
    rows: rows.map(({ xid: _xid, ...row }) => ({ ...row, id: Number(row.id), created_at: Number(row.created_at) })),
    cursor: positions.at(-1) ?? cursor,
    positions,
  };
}
