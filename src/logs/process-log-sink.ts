/**
 * @module The pino destination that records a process's log lines in the store (`process_logs`) for `autodev logs`
 * and `GET /api/logs`. What is recorded: every line at warn and above, and info lines marked `lifecycle: true`
 * (a process or agent starting and stopping, a task's outcome), so the table grows with incidents and tasks, not with
 * chatter. Lines are parsed, trimmed (message, other fields) and queued in memory; a timer writes them in batches.
 * It never blocks or crashes the process: `write` only queues; a failed batch stays queued and is tried again, the
 * queue is bounded (the oldest lines go first) and the count of lost lines is recorded as one warn line once the
 * store answers again. The line arrives masked (the logger's `streamWrite` hook) and the database handle masks every
 * parameter again; stdout/stderr still gets every line from the logger's other stream.
 */
import os from 'node:os';
import type { Kysely } from 'kysely';
import type { Database, ProcessLogsTable } from '../store/schema.js';
import type { Insertable } from 'kysely';

export const LEVEL_NUMBERS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type RecordedLevelName = keyof typeof LEVEL_NUMBERS;

export const MAX_MESSAGE_CHARS = 2_000;
export const MAX_DATA_CHARS = 4_000;
/** Fields that become columns (or are pino's own), not `data`. */
const COLUMN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'role', 'lifecycle']);

export interface ProcessIdentity {
  /** Unique per process run: `service@host:pid:started`. */
  processId: string;
  service: string;
  host: string;
  pid: number;
  /** The role this process runs when it runs exactly one (`serve agent:ROLE`): its lines are that role's. */
  role: string | null;
}

export function processIdentity(service: string, roles: readonly string[], now: number): ProcessIdentity {
  const host = os.hostname();
  return {
    processId: `${service}@${host}:${process.pid}:${now.toString(36)}`,
    service,
    host,
    pid: process.pid,
    role: roles.length === 1 ? (roles[0] ?? null) : null,
  };
}

export interface SinkOptions {
  flushEveryMs?: number;
  batchSize?: number;
  /** Lines kept while the store does not answer; older ones are dropped beyond this. */
  maxQueued?: number;
  now?: () => number;
}

type Row = Insertable<ProcessLogsTable>;

/** Whether a parsed pino line is recorded: warn and above, or a lifecycle line at info. */
export function isRecorded(entry: Record<string, unknown>): boolean {
  const level = typeof entry.level === 'number' ? entry.level : 0;
  return level >= LEVEL_NUMBERS.warn || (level >= LEVEL_NUMBERS.info && entry.lifecycle === true);
}

/** The role a line is about: its `role` field, the role of its `agent` (`builder@host:pid#1`), else the process's. */
function roleOf(entry: Record<string, unknown>, identity: ProcessIdentity): string | null {
  if (typeof entry.role === 'string') return entry.role;
  if (typeof entry.agent === 'string' && entry.agent.includes('@'))
    return entry.agent.slice(0, entry.agent.indexOf('@'));
  return identity.role;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export class ProcessLogSink {
  private queue: Row[] = [];
  private dropped = 0;
  private db: Kysely<Database> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly flushEveryMs: number;
  private readonly batchSize: number;
  private readonly maxQueued: number;
  private readonly now: () => number;

  constructor(
    private readonly identity: ProcessIdentity,
    options: SinkOptions = {},
  ) {
    this.flushEveryMs = options.flushEveryMs ?? 1_000;
    this.batchSize = options.batchSize ?? 200;
    this.maxQueued = options.maxQueued ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** pino's destination interface: one JSON line. Only queues; never throws. */
  write(line: string): boolean {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (!isRecorded(entry)) return true;
      const data = Object.fromEntries(Object.entries(entry).filter(([key]) => !COLUMN_FIELDS.has(key)));
      const dataText = Object.keys(data).length === 0 ? null : clip(JSON.stringify(data), MAX_DATA_CHARS);
      this.push({
        process_id: this.identity.processId,
        service: this.identity.service,
        host: this.identity.host,
        pid: this.identity.pid,
        role: roleOf(entry, this.identity),
        component: typeof entry.component === 'string' ? entry.component : null,
        level: entry.level as number,
        message: clip(typeof entry.msg === 'string' ? entry.msg : '', MAX_MESSAGE_CHARS),
        data: dataText,
        created_at: typeof entry.time === 'number' ? entry.time : this.now(),
      });
    } catch {
      // Not a JSON line (cannot happen with pino's serializer): nothing to record.
    }
    return true;
  }

  private push(row: Row): void {
    this.queue.push(row);
    if (this.queue.length > this.maxQueued) {
      this.dropped += this.queue.length - this.maxQueued;
      this.queue.splice(0, this.queue.length - this.maxQueued);
    }
  }

  /** Starts writing to the store (lines logged before this wait in the queue). */
  attach(db: Kysely<Database>): void {
    this.db = db;
    this.timer = setInterval(() => void this.flush(), this.flushEveryMs);
    this.timer.unref();
  }

  /** Writes what is queued, in batches; a failure leaves the rest queued for the next try. Never rejects. */
  flush(): Promise<void> {
    this.flushing ??= this.writeQueued().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeQueued(): Promise<void> {
    const db = this.db;
    if (!db) return;
    while (this.queue.length > 0 || this.dropped > 0) {
      // The count of lost lines goes first, and is only cleared once it is written.
      const lost = this.dropped;
      const lines = this.queue.slice(0, this.batchSize);
      try {
        await db
          .insertInto('process_logs')
          .values(lost > 0 ? [this.droppedNotice(lost), ...lines] : lines)
          .execute();
      } catch {
        return; // the store is down or busy: keep the lines, try again on the next tick
      }
      this.dropped -= lost;
      this.queue.splice(0, lines.length);
    }
  }

  private droppedNotice(count: number): Row {
    return {
      process_id: this.identity.processId,
      service: this.identity.service,
      host: this.identity.host,
      pid: this.identity.pid,
      role: this.identity.role,
      component: 'logs',
      level: LEVEL_NUMBERS.warn,
      message: `${count} log line${count === 1 ? ' was' : 's were'} not recorded: the store did not answer for a while`,
      data: null,
      created_at: this.now(),
    };
  }

  /** Lines waiting to be written (and lost ones), for tests and shutdown. */
  pending(): { queued: number; dropped: number } {
    return { queued: this.queue.length, dropped: this.dropped };
  }

  /** Stops the timer and writes what is left, waiting at most `timeoutMs` (the database may be gone). */
  async close(timeoutMs = 2_000): Promise<void> {
    clearInterval(this.timer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, timeoutMs);
        timeout.unref();
      }),
    ]);
    clearTimeout(timeout);
    this.db = undefined;
  }
}
