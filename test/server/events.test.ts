import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { buildServer } from '../../src/server/build-server.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { LogLines } from './test-server.js';

/** Generous: events normally arrive in milliseconds; this only bounds a broken stream. */
const ARRIVES_WITHIN_MS = 5_000;

interface ServerSentEvent {
  id: string | undefined;
  event: string | undefined;
  data: {
    id: number;
    kind: string;
    subject_type: string;
    subject_id: string;
    actor: string;
    data: unknown;
    created_at: string;
  };
}

/** A client of `GET /api/events` over a real socket, reading frames as they arrive. */
class EventStreamClient {
  private readonly abort = new AbortController();
  private readonly frames: ServerSentEvent[] = [];
  private buffer = '';
  private wake: (() => void) | undefined;
  status = 0;
  contentType = '';

  static async open(url: string, headers: Record<string, string>): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    const response = await fetch(url, { headers, signal: client.abort.signal });
    client.status = response.status;
    client.contentType = response.headers.get('content-type') ?? '';
    void client.read(response.body!.getReader());
    return client;
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>) {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        this.buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const frame = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          if (!fields.has('data')) continue;
          this.frames.push({
            id: fields.get('id'),
            event: fields.get('event'),
            data: JSON.parse(fields.get('data')!) as ServerSentEvent['data'],
          });
          this.wake?.();
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  /** Resolves with the first `count` events received, or rejects after ARRIVES_WITHIN_MS. */
  async take(count: number): Promise<ServerSentEvent[]> {
    const deadline = Date.now() + ARRIVES_WITHIN_MS;
    while (this.frames.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} events, got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.frames.slice(0, count);
  }

  received(): ServerSentEvent[] {
    return [...this.frames];
  }

  close() {
    this.abort.abort();
  }
}

async function eventually(check: () => boolean, what: string) {
  const deadline = Date.now() + ARRIVES_WITHIN_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(DIALECTS)('%s: GET /api/events', (dialect) => {
  const t = useTestDatabase(dialect);
  const log = new LogLines();
  let queue: TaskQueue;
  let app: FastifyInstance;
  let baseUrl: string;
  let token: string;
  const clients: EventStreamClient[] = [];

  // A server per test: the database is emptied before each test, and a server's event feed must not outlive it.
  beforeEach(async () => {
    queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'debug', pretty: false, destination: log }),
      version: 'test',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    baseUrl = `http://127.0.0.1:${address.port}`;
    token = await createApiToken(t.handle.db, { name: 'dashboard', role: 'viewer', now: Date.now() });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await app?.close();
    await queue?.close();
  });

  const connect = async (query = '', headers: Record<string, string> = {}) => {
    const client = await EventStreamClient.open(`${baseUrl}/api/events${query}`, {
      authorization: `Bearer ${token}`,
      ...headers,
    });
    clients.push(client);
    return client;
  };
  const enqueue = (type = 'deploy') => queue.enqueue({ type, createdBy: 'test' });
  const eventIds = async () =>
    (await t.handle.db.selectFrom('events').select('id').orderBy('id').execute()).map((row) => row.id);

  it('streams a task.created event for a task enqueued after connecting', async () => {
    await enqueue('write_spec');
    const client = await connect();
    expect(client.status).toBe(200);
    expect(client.contentType).toMatch(/^text\/event-stream/);
    const task = await enqueue('review_mr');
    const [event] = await client.take(1);
    expect(event!.event).toBe('task.created');
    expect(event!.data).toMatchObject({
      kind: 'task.created',
      subject_type: 'task',
      subject_id: String(task.id),
      actor: 'test',
      data: { type: 'review_mr', priority: 5, status: 'pending' },
    });
    expect(event!.id).toBe(String(event!.data.id));
    expect(new Date(event!.data.created_at).toISOString()).toBe(event!.data.created_at);
    expect(client.received()).toHaveLength(1);
    client.close();
  });

  it('resumes after Last-Event-ID, in order', async () => {
    await enqueue();
    await enqueue();
    await enqueue();
    const [first, second, third] = await eventIds();
    const client = await connect('', { 'last-event-id': String(first) });
    const events = await client.take(2);
    expect(events.map((e) => Number(e.id))).toEqual([second, third]);
    client.close();
  });

  it('resumes after ?after=, and Last-Event-ID wins over it', async () => {
    await enqueue();
    await enqueue();
    const [first, second] = await eventIds();
    const byQuery = await connect(`?after=${first}`);
    expect((await byQuery.take(1)).map((e) => Number(e.id))).toEqual([second]);
    const byHeader = await connect('?after=0', { 'last-event-id': String(first) });
    expect((await byHeader.take(1)).map((e) => Number(e.id))).toEqual([second]);
    byQuery.close();
    byHeader.close();
  });

  it('delivers every event of several concurrent writers, each once', async () => {
    const client = await connect('?kinds=task.created');
    const WRITERS = 5;
    const EACH = 40;
    // Concurrent transactions on the pool: on PostgreSQL their commits land out of id order.
    const tasks = (
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          const mine = [];
          for (let i = 0; i < EACH; i++) mine.push(await enqueue());
          return mine;
        }),
      )
    ).flat();
    const events = await client.take(WRITERS * EACH);
    expect(new Set(events.map((e) => e.data.subject_id))).toEqual(new Set(tasks.map((task) => String(task.id))));
    expect(new Set(events.map((e) => e.id)).size).toBe(WRITERS * EACH);
    client.close();
  });

  it('sends only the kinds asked for', async () => {
    const client = await connect('?kinds=task.cancelled,approval.');
    const task = await enqueue();
    await queue.cancel(task.id, 'test');
    const [event] = await client.take(1);
    expect(event!.event).toBe('task.cancelled');
    expect(event!.data.subject_id).toBe(String(task.id));
    client.close();
  });

  it('needs a token', async () => {
    const response = await fetch(`${baseUrl}/api/events`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });

  it('ends the stream on the server when the client disconnects', async () => {
    const opened = log.count('event stream opened');
    const closed = log.count('event stream closed');
    const client = await connect();
    await eventually(() => log.count('event stream opened') === opened + 1, 'the stream to open');
    client.close();
    await eventually(() => log.count('event stream closed') === closed + 1, 'the stream to close');
  });
});

describe.each(DIALECTS)('%s: closing the server with an event stream open', (dialect) => {
  const t = useTestDatabase(dialect);

  it('ends the stream and closes', async () => {
    const queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    const app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const token = await createApiToken(t.handle.db, { name: 'dashboard', role: 'viewer', now: Date.now() });
    const response = await fetch(`http://127.0.0.1:${address.port}/api/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    await app.close();
    // The server ended the response, so the body reaches its end rather than hanging.
    for (;;) if ((await reader.read()).done) break;
    await queue.close();
  });
});
