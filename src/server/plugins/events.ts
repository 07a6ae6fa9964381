/**
 * @module `GET /api/events`: the change log (`events`, read by `events/read-events.ts`, which never skips a row) as
 * Server-Sent Events, resumable with `Last-Event-ID` (or `?after=`).
 * Woken by the queue's wake-up channel, with a one-second poll for changes that do not wake it; one stream per client,
 * ended (timers, listeners and all) when the client goes away or the server closes.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { eventCursorAfter, eventLogNow, readEvents, type EventCursor } from '../../events/read-events.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import type { DatabaseHandle } from '../../store/open-database.js';
import type { EventRow } from '../../store/schema.js';
import { ErrorResponseSchema } from '../error-handler.js';

export const EVENT_BATCH_SIZE = 500;
export const FALLBACK_POLL_MS = 1_000;
export const KEEPALIVE_MS = 15_000;
/** What a browser's EventSource waits before reconnecting. */
const RECONNECT_MS = 2_000;

const eventId = z
  .string()
  .regex(/^\d{1,16}$/, 'must be an event id (a whole number)')
  .transform(Number)
  .pipe(z.int().min(0).max(Number.MAX_SAFE_INTEGER, 'must be an event id (a whole number)'));

const EventsQuery = z.strictObject({
  access_token: z
    .string()
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

export interface EventsOptions {
  handle: DatabaseHandle;
  queue: TaskQueue;
}

/** One event as the stream's `data:` line carries it. */
export function eventToJson(row: EventRow) {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
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

/** Writes `chunk`; waits for the socket to drain when its buffer is full. False when the client is gone. */
function write(raw: ServerResponse, chunk: string, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || raw.destroyed) return Promise.resolve(false);
  if (raw.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve(!signal.aborted && !raw.destroyed);
    };
    raw.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface StreamRequest {
  raw: ServerResponse;
  handle: DatabaseHandle;
  queue: TaskQueue;
  after: EventCursor;
  kinds: string[] | undefined;
  signal: AbortSignal;
  log: FastifyBaseLogger;
}

async function streamEvents({ raw, handle, queue, after, kinds, signal, log }: StreamRequest): Promise<void> {
  let cursor = after;
  let lastWriteAt = Date.now();
  while (!signal.aborted) {
    let rows: EventRow[];
    try {
      ({ rows, cursor } = await readEvents(handle, cursor, EVENT_BATCH_SIZE));
    } catch (error) {
      // The client reconnects with Last-Event-ID and misses nothing.
      log.warn({ err: error }, 'event stream: reading events failed; ending the stream');
      return;
    }
    for (const row of rows) {
      if (kinds && !kinds.some((prefix) => row.kind.startsWith(prefix))) continue;
      if (!(await write(raw, formatEvent(row), signal))) return;
      lastWriteAt = Date.now();
    }
    if (rows.length === EVENT_BATCH_SIZE) continue;
    if (Date.now() - lastWriteAt >= KEEPALIVE_MS) {
      if (!(await write(raw, ': keepalive\n\n', signal))) return;
      lastWriteAt = Date.now();
    }
    await queue.wakeup.wait(FALLBACK_POLL_MS, signal);
  }
}

export const eventsPlugin: FastifyPluginAsyncZod<EventsOptions> = async (app, { handle, queue }) => {
  const open = new Map<AbortController, Promise<void>>();
  // A wait starts the wake-up channel's listener (PostgreSQL: a LISTEN connection); start it now, so the first stream
  // does not miss the changes made while it connects.
  app.addHook('onReady', () => queue.wakeup.wait(0));
  // Open streams would keep `close()` waiting for ever: end them, and wait until they have, before the server closes.
  app.addHook('preClose', async () => {
    for (const controller of open.keys()) controller.abort();
    await Promise.all(open.values());
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
          'a `: keepalive` comment every 15 s.',
        tags: ['events'],
        querystring: EventsQuery,
        headers: EventsHeaders,
        response: {
          200: z.null().describe('A text/event-stream that stays open; see the description.'),
          400: ErrorResponseSchema,
          401: ErrorResponseSchema,
        },
      },
    },
    async (request, reply) => {
      const afterId = request.headers['last-event-id'] ?? request.query.after;
      const after = afterId === undefined ? await eventLogNow(handle) : await eventCursorAfter(handle, afterId);
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
          await streamEvents({ raw, handle, queue, after, kinds, signal: controller.signal, log: request.log });
        } finally {
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
