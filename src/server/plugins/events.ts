/**
 * @module `GET /api/events`: the change log (`events`, read by `events/read-events.ts`, which never skips a row) as
 * Server-Sent Events, resumable with `Last-Event-ID` (or `?after=`).
 * One reader per server (`event-feed.ts`) reads each change once, woken by the queue's wake-up channel with a
 * one-second poll for changes that do not wake it, and the streams send from it; a stream far behind reads the
 * database itself until it has caught up. Each stream is ended (timers, listeners and all) when the client goes away
 * or the server closes.
 * Limits keep the server responsive: open streams per token and in total (one more: 429 TOO_MANY_STREAMS), and a
 * client that stops reading is dropped once its unsent bytes pass `maxBufferedBytes` or it has not drained for
 * `stallMs`.
 */
import { isoEventTimes } from '../../domain/event-data-times.js';
import type { LiveEvent } from '../../domain/event-schema.js';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { eventCursorAfter, eventLogNow, readEvents, type EventCursor } from '../../events/read-events.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import type { DatabaseHandle } from '../../store/open-database.js';
import type { EventRow } from '../../store/schema.js';
import { AutodevError } from '../../errors.js';
import { MAX_ID, wholeNumberText } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { EventFeed, type FeedEvent } from '../event-feed.js';

export const EVENT_BATCH_SIZE = 500;
/** The feed reads at most this often, so a burst of changes reaches each stream as one write. */
export const FEED_COALESCE_MS = 50;
/** Recent events the feed keeps for streams that are a little behind. */
export const FEED_KEEP_EVENTS = 5000;
export const FALLBACK_POLL_MS = 1_000;
export const KEEPALIVE_MS = 15_000;
/** What a browser's EventSource waits before reconnecting. */
const RECONNECT_MS = 2_000;

const eventId = wholeNumberText('an event id', 0, MAX_ID);

const EventsQuery = z.strictObject({
  access_token: z
    .string()
    .max(512)
    .optional()
    .describe('The API token, for browsers whose EventSource cannot send an Authorization header.'),
  after: eventId.optional().describe('Send events after this id; without it (and without Last-Event-ID), from now.'),
  kinds: z
    .string()
    .regex(/^[a-z0-9_.]+(,[a-z0-9_.]+)*$/, 'must be comma-separated kind prefixes, e.g. task.,approval.')
    .max(500)
    .optional()
    .describe('Only kinds starting with one of these comma-separated prefixes, e.g. "task.".'),
});

// Loose: Fastify replaces request.headers with the parsed value, so the other headers must pass through.
const EventsHeaders = z.looseObject({
  'last-event-id': eventId.optional().describe('Resume after this event id (browsers send it on reconnect).'),
});

export interface EventStreamLimits {
  /** Open streams, all tokens together (settings: server.max_event_streams). */
  maxStreams: number;
  /** Open streams per token (server.max_event_streams_per_token). */
  maxStreamsPerToken: number;
  /** Unsent bytes a stream may hold for a client before it is dropped (server.max_event_stream_buffer_bytes). */
  maxBufferedBytes: number;
  /** How long a full socket may stay undrained before the client is dropped (server.max_event_stream_stall_seconds). */
  stallMs: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = {
  maxStreams: 1000,
  maxStreamsPerToken: 20,
  maxBufferedBytes: 1024 * 1024,
  stallMs: 30_000,
};

export interface EventsOptions {
  handle: DatabaseHandle;
  queue: TaskQueue;
  limits?: EventStreamLimits;
  /** Resolves once the schema is this build's (a `serve dashboard` waiting for `db migrate`); the feed starts then. */
  schemaCurrent?: Promise<void> | undefined;
}

/** One event as the stream's `data:` line carries it. */
export function eventToJson(row: EventRow): LiveEvent {
  let data: unknown;
  try {
    data = isoEventTimes(JSON.parse(row.data));
  } catch {
    data = row.data;
  }
  return {
    id: row.id,
    kind: row.kind,
    subject_type: row.subject_type,
    subject_id: row.subject_id,
    actor: row.actor,
    data,
    created_at: new Date(row.created_at).toISOString(),
  };
}

export function formatEvent(row: EventRow): string {
  // Kinds are dotted words written by Auto-Dev; strip line breaks anyway so a bad row cannot break the framing.
  return `id: ${row.id}\nevent: ${row.kind.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(eventToJson(row))}\n\n`;
}

/**
 * Writes `chunk`; waits for the socket to drain when its buffer is full. False when the client is gone, or was dropped
 * for not reading: more than `maxBufferedBytes` unsent, or no drain within `stallMs`.
 */
function write(raw: ServerResponse, chunk: string, signal: AbortSignal, limits: EventStreamLimits): Promise<boolean> {
  if (signal.aborted || raw.destroyed) return Promise.resolve(false);
  const flushed = raw.write(chunk);
  if (raw.writableLength > limits.maxBufferedBytes) {
    raw.destroy();
    return Promise.resolve(false);
  }
  if (flushed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      raw.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve(!signal.aborted && !raw.destroyed);
    };
    const timer = setTimeout(() => {
      raw.destroy();
      done();
    }, limits.stallMs);
    raw.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The events after `after`, in log order, one batch: what the feed reads, and a stream catching up. */
function readEventBatch(handle: DatabaseHandle, after: EventCursor) {
  return readEvents(handle, after, EVENT_BATCH_SIZE);
}

interface StreamRequest {
  raw: ServerResponse;
  handle: DatabaseHandle;
  feed: EventFeed;
  after: EventCursor;
  kinds: string[] | undefined;
  signal: AbortSignal;
  log: FastifyBaseLogger;
  limits: EventStreamLimits;
}

async function streamEvents({ raw, handle, feed, after, kinds, signal, log, limits }: StreamRequest) {
  let last = after;
  let lastWriteAt = Date.now();
  while (!signal.aborted) {
    let batch: FeedEvent[] | undefined = feed.since(last);
    let full = false;
    if (batch === undefined) {
      // Further behind than the feed keeps: read the database until caught up.
      let read: Awaited<ReturnType<typeof readEventBatch>>;
      try {
        read = await readEventBatch(handle, last);
      } catch (error) {
        // The client reconnects with Last-Event-ID and misses nothing.
        log.warn({ err: error }, 'event stream: reading events failed; ending the stream');
        return;
      }
      batch = read.rows.map((row, index) => ({
        id: row.id,
        cursor: read.positions[index]!,
        kind: row.kind,
        text: formatEvent(row),
      }));
      full = read.rows.length === EVENT_BATCH_SIZE;
    }
    // One write per batch: with hundreds of streams, a write per event per stream is what costs.
    let chunk = '';
    for (const event of batch) {
      last = event.cursor;
      if (kinds && !kinds.some((prefix) => event.kind.startsWith(prefix))) continue;
      chunk += event.text;
    }
    if (chunk !== '') {
      if (!(await write(raw, chunk, signal, limits))) return;
      lastWriteAt = Date.now();
    }
    if (full || (batch.length > 0 && feed.since(last)?.length !== 0)) continue;
    if (Date.now() - lastWriteAt >= KEEPALIVE_MS) {
      if (!(await write(raw, ': keepalive\n\n', signal, limits))) return;
      lastWriteAt = Date.now();
    }
    await feed.wait(signal);
  }
}

export const eventsPlugin: FastifyPluginAsyncZod<EventsOptions> = async (app, options) => {
  const { handle, queue } = options;
  const limits = options.limits ?? DEFAULT_EVENT_STREAM_LIMITS;
  const open = new Map<AbortController, Promise<void>>();
  /** Open streams per token name, and in all (counted from the request's start, before `open` knows of it). */
  const perToken = new Map<string, number>();
  let streams = 0;
  const feed = new EventFeed({
    read: (after) => readEventBatch(handle, after),
    latest: () => eventLogNow(handle),
    format: formatEvent,
    waitForChange: (ms, signal) => queue.wakeup.wait(ms, signal),
    batchSize: EVENT_BATCH_SIZE,
    pollMs: FALLBACK_POLL_MS,
    coalesceMs: FEED_COALESCE_MS,
    keep: FEED_KEEP_EVENTS,
    log: app.log,
  });
  // A wait starts the wake-up channel's listener (PostgreSQL: a LISTEN connection); start it now, so the first stream
  // does not miss the changes made while it connects.
  app.addHook('onReady', async () => {
    await queue.wakeup.wait(0);
    if (!options.schemaCurrent) return feed.start();
    // Streams are refused until then (SCHEMA_NOT_CURRENT), and one that finds the feed not started reads the database.
    options.schemaCurrent
      .then(
        () => feed.start(),
        () => undefined,
      )
      .catch((error: unknown) => app.log.error({ err: error }, 'the event feed could not start'));
  });
  // Open streams would keep `close()` waiting for ever: end them, and wait until they have, before the server closes.
  app.addHook('preClose', async () => {
    for (const controller of open.keys()) controller.abort();
    await Promise.all(open.values());
    feed.stop();
  });

  app.get(
    '/events',
    {
      // A HEAD request would open a stream that sends nothing and never ends.
      exposeHeadRoute: false,
      schema: {
        summary: 'Stream changes as Server-Sent Events',
        description:
          'text/event-stream of `id: <event id>`, `event: <kind>`, `data: {id,kind,subject_type,subject_id,actor,data,created_at}`; ' +
          'times, also those in `data` (`until`, `slot_at`, `runAfter`), are ISO 8601 with a zone; a `: keepalive` comment every 15 s.',
        tags: ['events'],
        querystring: EventsQuery,
        headers: EventsHeaders,
        response: {
          200: z.null().describe('A text/event-stream that stays open; see the description.'),
          400: ErrorResponseSchema,
          401: ErrorResponseSchema,
          429: ErrorResponseSchema,
        },
      },
    },
    async (request, reply) => {
      const tokenName = request.apiToken?.name ?? '';
      const mine = perToken.get(tokenName) ?? 0;
      if (mine >= limits.maxStreamsPerToken || streams >= limits.maxStreams) {
        throw new AutodevError(
          'TOO_MANY_STREAMS',
          mine >= limits.maxStreamsPerToken
            ? `token "${tokenName}" already has ${mine} open event streams (server.max_event_streams_per_token); close one`
            : `the server already has ${streams} open event streams (server.max_event_streams); try again later`,
        );
      }
      // Counted from here, before any await, so concurrent requests cannot pass the limit together.
      perToken.set(tokenName, mine + 1);
      streams += 1;
      const release = () => {
        streams -= 1;
        const left = (perToken.get(tokenName) ?? 1) - 1;
        if (left > 0) perToken.set(tokenName, left);
        else perToken.delete(tokenName);
      };
      const afterId = request.headers['last-event-id'] ?? request.query.after;
      let after: EventCursor;
      try {
        await feed.start();
        // "From now" is now, not the feed's last read: rows committed before this request are not sent.
        after = afterId === undefined ? await eventLogNow(handle) : await eventCursorAfter(handle, afterId);
      } catch (error) {
        release();
        throw error;
      }
      const kinds = request.query.kinds?.split(',');

      const controller = new AbortController();
      const raw = reply.raw;
      const stop = () => controller.abort();
      raw.on('close', stop);

      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: ${RECONNECT_MS}\n: streaming events after ${afterId ?? 'now'}\n\n`);
      request.log.debug({ after: afterId, kinds }, 'event stream opened');
      const finished = (async () => {
        try {
          await streamEvents({
            raw,
            handle,
            feed,
            after,
            kinds,
            signal: controller.signal,
            log: request.log,
            limits,
          });
        } finally {
          release();
          raw.off('close', stop);
          open.delete(controller);
          controller.abort();
          if (!raw.writableEnded) raw.end();
          request.log.debug('event stream closed');
        }
      })();
      open.set(controller, finished);
      await finished;
    },
  );
};
