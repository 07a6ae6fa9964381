/**
 * @module Reads the recorded log lines (`process_logs`) with the filters of `autodev logs` and `GET /api/logs`
 * (role, minimum level, since), newest page first, and follows them without skipping a line.
 *
 * Following is the change log's commit-safe reading (`events/read-events.ts`), for the same reason: on PostgreSQL
 * two processes take ids from one sequence and may commit out of id order, and a line logged while the store was
 * down is written later with its old time, so neither `id > last` nor a time window is safe. Each row records its
 * writer's transaction id (`xid`, migration 0020); rows are read in `(xid, id)` order below the oldest transaction
 * still in progress, which no later commit can fall behind. SQLite has one writer: id order is commit order.
 */
import { sql, type SqlBool, type Expression } from 'kysely';
import type { DatabaseHandle } from '../store/open-database.js';
import { LEVEL_NUMBERS, type RecordedLevelName } from './process-log-sink.js';

type LogHandle = Pick<DatabaseHandle, 'db' | 'dialect'>;

export interface LogFilters {
  role?: string | undefined;
  /** Lines at this level and above. */
  minLevel?: RecordedLevelName | undefined;
  /** Lines logged at or after this time (ms). */
  since?: number | undefined;
}

export interface ProcessLogLine {
  id: number;
  time: number;
  level: RecordedLevelName;
  process_id: string;
  service: string;
  host: string;
  pid: number;
  role: string | null;
  component: string | null;
  message: string;
  data: Record<string, unknown> | null;
}

/** A position in the log: everything at or before it has been read (as `EventCursor`). */
export interface LogCursor {
  readonly xid: number;
  readonly id: number;
  readonly before?: string | undefined;
}

export function levelName(level: number): RecordedLevelName {
  const names = Object.entries(LEVEL_NUMBERS) as [RecordedLevelName, number][];
  return names.reduce((found, [name, value]) => (level >= value ? name : found), 'trace' as RecordedLevelName);
}

interface RawRow {
  id: number | string;
  created_at: number | string;
  level: number;
  process_id: string;
  service: string;
  host: string;
  pid: number;
  role: string | null;
  component: string | null;
  message: string;
  data: string | null;
}

function toLine(row: RawRow): ProcessLogLine {
  let data: Record<string, unknown> | null = null;
  if (row.data !== null) {
    try {
      data = JSON.parse(row.data) as Record<string, unknown>;
    } catch {
      data = { text: row.data }; // clipped: no longer JSON
    }
  }
  return {
    id: Number(row.id),
    time: Number(row.created_at),
    level: levelName(row.level),
    process_id: row.process_id,
    service: row.service,
    host: row.host,
    pid: row.pid,
    role: row.role,
    component: row.component,
    message: row.message,
    data,
  };
}

function filterSql(filters: LogFilters) {
  const parts = [sql`true`];
  if (filters.role !== undefined) parts.push(sql`role = ${filters.role}`);
  if (filters.minLevel !== undefined) parts.push(sql`level >= ${LEVEL_NUMBERS[filters.minLevel]}`);
  if (filters.since !== undefined) parts.push(sql`created_at >= ${filters.since}`);
  return sql.join(parts, sql` and `) as Expression<SqlBool>;
}

const COLUMNS = sql`id, created_at, level, process_id, service, host, pid, role, component, message, data`;

/** The newest `limit` lines that pass the filters, oldest first. */
export async function recentProcessLogs(
  handle: LogHandle,
  filters: LogFilters,
  limit: number,
): Promise<ProcessLogLine[]> {
  const { rows } = await sql<RawRow>`
    select ${COLUMNS} from process_logs where ${filterSql(filters)}
    order by created_at desc, id desc limit ${limit}`.execute(handle.db);
  return rows.map(toLine).reverse();
}

/** A cursor at "now": following from it returns only lines that commit after this call. */
export async function processLogNow(handle: LogHandle): Promise<LogCursor> {
  if (handle.dialect.name === 'sqlite') {
    const { rows } = await sql<{ id: number | null }>`select max(id) as id from process_logs`.execute(handle.db);
    return { xid: 0, id: Number(rows[0]?.id ?? 0) };
  }
  const { rows } = await sql<{ xmin: string; snapshot: string }>`
    select (pg_snapshot_xmin(s)::text) as xmin, s::text as snapshot from pg_current_snapshot() as s`.execute(handle.db);
  const now = rows[0]!;
  return { xid: Number(now.xmin) - 1, id: Number.MAX_SAFE_INTEGER, before: now.snapshot };
}

function stillBefore(snapshot: string | undefined, xid: number): string | undefined {
  if (!snapshot) return undefined;
  return Number(xid) >= Number(snapshot.split(':')[1]) ? undefined : snapshot;
}

/** Up to `limit` lines after `cursor` that pass the filters, in commit-safe order, and the cursor after them. */
export async function followProcessLogs(
  handle: LogHandle,
  cursor: LogCursor,
  filters: LogFilters,
  limit: number,
): Promise<{ lines: ProcessLogLine[]; cursor: LogCursor }> {
  if (handle.dialect.name === 'sqlite') {
    // The filters go on the page, not the scan: the cursor must move past lines that do not pass them.
    const { rows } = await sql<RawRow>`
      select ${COLUMNS} from process_logs where id > ${cursor.id} order by id limit ${limit}`.execute(handle.db);
    const last = rows.at(-1);
    return {
      lines: rows.filter((row) => passes(row, filters)).map(toLine),
      cursor: last ? { xid: 0, id: Number(last.id) } : cursor,
    };
  }
  const notBefore = cursor.before
    ? sql`and not pg_visible_in_snapshot((xid::text)::xid8, ${cursor.before}::pg_snapshot)`
    : sql``;
  const { rows } = await sql<RawRow & { xid: number | string }>`
    select ${COLUMNS}, xid from process_logs
    where xid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint
      and xid >= ${cursor.xid} and (xid, id) > (${cursor.xid}::bigint, ${cursor.id}::bigint)
      ${notBefore}
    order by xid, id
    limit ${limit}`.execute(handle.db);
  const last = rows.at(-1);
  return {
    lines: rows.filter((row) => passes(row, filters)).map(toLine),
    cursor: last
      ? { xid: Number(last.xid), id: Number(last.id), before: stillBefore(cursor.before, Number(last.xid)) }
      : cursor,
  };
}

function passes(row: RawRow, filters: LogFilters): boolean {
  if (filters.role !== undefined && row.role !== filters.role) return false;
  if (filters.minLevel !== undefined && row.level < LEVEL_NUMBERS[filters.minLevel]) return false;
  if (filters.since !== undefined && Number(row.created_at) < filters.since) return false;
  return true;
}
