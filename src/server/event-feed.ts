/**
 * @module One reader of the change log for every open event stream of a server: it reads each new batch of `events`
 * once (woken by the queue's wake-up channel, with a fallback poll), keeps the most recent rows with their SSE text,
 * and wakes the streams, which send from memory. A stream further behind than the kept rows (a reconnect with an old
 * Last-Event-ID) reads the database itself until it has caught up. So a change costs one query however many
 * streams are open, instead of one per stream, and a burst of changes (read at most every `coalesceMs`) reaches each
 * stream as one write.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { EventCursor } from '../events/read-events.js';
import type { EventRow } from '../store/schema.js';

/** A row as the streams need it: its place in the log, kind (for `?kinds=`) and its SSE frame, formatted once. */
export interface FeedEvent {
  id: number;
  /** The log position just after this row (events/read-events.ts: `(xid, id)` order on PostgreSQL). */
  cursor: EventCursor;
  kind: string;
  text: string;
}

/** Log order: `(xid, id)`, as `readEvents` reads it (xid is 0 on SQLite). */
export function compareCursors(a: EventCursor, b: EventCursor): number {
  return a.xid - b.xid || a.id - b.id;
}

export interface EventFeedOptions {
  /** Reads the rows after `cursor`, in log order, at most one batch, and the cursor after them. */
  read(cursor: EventCursor): Promise<{ rows: EventRow[]; cursor: EventCursor; positions: EventCursor[] }>;
  /** The log position "now" when the feed starts: it reads what commits after. */
  latest(): Promise<EventCursor>;
  format(row: EventRow): string;
  /** Waits for a change (or the timeout, or the signal). */
  waitForChange(timeoutMs: number, signal: AbortSignal): Promise<unknown>;
  batchSize: number;
  pollMs: number;
  /** After a batch, the feed waits this long before reading again: a burst of changes becomes one write per stream. */
  coalesceMs: number;
  /** Rows kept in memory for streams that are a little behind. */
  keep: number;
  log: FastifyBaseLogger;
}

/** Streams woken per event-loop turn. */
const NOTIFY_SLICE = 50;

export class EventFeed {
  private events: FeedEvent[] = [];
  /**
   * Every row after `floor` and up to `head`, in log order, is in `events`. No floor while the feed's own cursor
   * still carries its start snapshot (rows committed before the start are skipped there): streams read the database.
   */
  private floor: EventCursor | null = null;
  private head: EventCursor = { xid: 0, id: 0 };
  private readonly listeners = new Set<() => void>();
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: EventFeedOptions) {}

  /** Starts reading from the newest event; idempotent. */
  start(): Promise<void> {
    this.running ??= (async () => {
      this.head = await this.options.latest();
      this.floor = this.head.before === undefined ? this.head : null;
      void this.loop();
    })();
    return this.running;
  }

  stop(): void {
    this.controller.abort();
    this.notify();
  }

  /** The kept events after `after`, or undefined when the feed cannot tell them all (read the database). */
  since(after: EventCursor): FeedEvent[] | undefined {
    // A position still carrying its start snapshot must check rows against it: the database does that.
    if (after.before !== undefined || this.floor === null || compareCursors(after, this.floor) < 0) return undefined;
    if (compareCursors(after, this.head) >= 0) return [];
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareCursors(this.events[mid]!.cursor, after) <= 0) low = mid + 1;
      else high = mid;
    }
    return this.events.slice(low);
  }

  /**
   * Resolves at the next batch, or at the feed's next poll (at least every `pollMs`, so streams can send keepalives),
   * or when `signal` aborts. No timer per stream: hundreds of waiting streams cost one timer.
   */
  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.controller.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.listeners.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.listeners.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private notifiedAt = 0;

  /**
   * Wakes the waiting streams, `NOTIFY_SLICE` per event-loop turn: each writes to its socket when woken, and other
   * requests (a health check) get a turn between slices instead of waiting for hundreds of writes.
   */
  private notify(): void {
    this.notifiedAt = Date.now();
    const listeners = [...this.listeners];
    const wake = (from: number) => {
      for (const listener of listeners.slice(from, from + NOTIFY_SLICE)) listener();
      if (from + NOTIFY_SLICE < listeners.length) setImmediate(() => wake(from + NOTIFY_SLICE));
    };
    wake(0);
  }

  private async loop(): Promise<void> {
    const { signal } = this.controller;
    while (!signal.aborted) {
      let rows: EventRow[] = [];
      try {
        const read = await this.options.read(this.head);
        rows = read.rows;
        for (const [index, row] of rows.entries()) {
          this.events.push({
            id: row.id,
            cursor: read.positions[index]!,
            kind: row.kind,
            text: this.options.format(row),
          });
        }
        this.head = read.cursor;
        if (this.floor === null && this.head.before === undefined) {
          // Past the start snapshot: from here the kept list is the whole log (streams behind it read the database).
          this.floor = this.head;
          this.events = [];
        }
      } catch (error) {
        this.options.log.warn({ err: error }, 'event feed: reading events failed; trying again');
      }
      if (rows.length > 0) {
        const excess = this.events.length - this.options.keep;
        if (excess > 0) this.floor = this.events.splice(0, excess).at(-1)!.cursor;
        this.notify();
        await new Promise((resolve) => setTimeout(resolve, this.options.coalesceMs));
      }
      if (rows.length === this.options.batchSize) continue;
      await this.options.waitForChange(this.options.pollMs, signal);
      // Nothing new: still wake the streams now and then, for their keepalives.
      if (rows.length === 0 && Date.now() - this.notifiedAt >= this.options.pollMs) this.notify();
    }
  }
}
