/**
 * What the HTTP layer does before and around the routes, on a real listening server: the router's own refusals and
 * Node's HTTP parser errors in the registry's format (401 first under /api), the event-stream limits (per token, in
 * total: 429 TOO_MANY_STREAMS), a client that stops reading is dropped, and no token reaches the log at any level.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { recordEvent } from '../../src/events/record-event.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { createApiToken, ensureAdminToken } from '../../src/server/api-tokens.js';
import { buildServer } from '../../src/server/build-server.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { LogLines } from './test-server.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Raw bytes to the server, the whole answer back (the connection is closed by the server or after the body). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
  });
}

function get(port: number, path: string, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    );
    request.on('error', reject);
  });
}

/** Opens an event stream and resolves once its first bytes arrived; `close()` hangs up. */
function openStream(
  port: number,
  token: string,
): Promise<{ status: number; response: http.IncomingMessage; close(): void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/api/events', headers: { authorization: `Bearer ${token}` } },
      (response) => {
        const close = () => request.destroy();
        if (response.statusCode !== 200) return resolve({ status: response.statusCode ?? 0, response, close });
        response.once('data', () => resolve({ status: 200, response, close }));
      },
    );
    request.on('error', reject);
  });
}

describe.each(DIALECTS)('%s: the HTTP layer under hostile clients', (dialect) => {
  const db = useTestDatabase(dialect);
  const logs = new LogLines();
  let app: FastifyInstance;
  let queue: TaskQueue;
  let port = 0;
  let admin = '';
  let viewer = '';
  const open: Array<{ close(): void }> = [];

  beforeAll(async () => {
    queue = new TaskQueue(db.handle, DEFAULT_QUEUE_SETTINGS);
    const settings = SettingsSchema.parse({
      server: {
        max_event_streams: 4,
        max_event_streams_per_token: 2,
        max_event_stream_buffer_bytes: 65_536,
        max_event_stream_stall_seconds: 1,
      },
    });
    app = await buildServer({
      handle: db.handle,
      queue,
      logger: createLogger({ level: 'trace', pretty: false, destination: logs }),
      version: 'test',
      settings,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  beforeEach(async () => {
    const now = Date.now();
    admin = fs.readFileSync((await ensureAdminToken(db.handle.db, db.dir, now)).path, 'utf8').trim();
    viewer = await createApiToken(db.handle.db, { name: 'viewer-1', role: 'viewer', now });
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(async () => {
    await app?.close();
    await queue?.close();
  });

  it('answers a too long path parameter and bad percent-encoding with 401 first, then in the registry format', async () => {
    for (const path of [`/api/tasks/${'1'.repeat(150)}`, '/api/tasks/%E0%A4%A', '/api/no-such/%']) {
      const anonymous = await get(port, path);
      expect(anonymous.status, path).toBe(401);
      expect(JSON.parse(anonymous.body).error.code).toBe('UNAUTHORIZED');
      expect(anonymous.body).not.toContain(db.dir);
    }
    const long = await get(port, `/api/tasks/${'1'.repeat(150)}`, admin);
    expect(long.status).toBe(414);
    expect(JSON.parse(long.body)).toEqual({
      error: { code: 'URL_TOO_LONG', message: expect.stringContaining('100 characters') },
    });
    const encoding = await get(port, '/api/tasks/%E0%A4%A', admin);
    expect(encoding.status).toBe(400);
    expect(JSON.parse(encoding.body).error.code).toBe('INVALID_URL');
    // Outside /api nothing needs a token: the same refusal, in the same format.
    const outside = await get(port, '/assets/%E0%A4%A');
    expect(outside.status).toBe(400);
    expect(JSON.parse(outside.body).error.code).toBe('INVALID_URL');
  });

  it("answers Node's HTTP parser errors (headers too large, not HTTP) in the registry format", async () => {
    const huge = await rawRequest(port, `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) },
    });
    const garbage = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).error.code).toBe('INVALID_URL');
  });

  it('caps event streams per token and in total with 429 TOO_MANY_STREAMS, and frees a slot when one closes', async () => {
    const first = await openStream(port, admin);
    const second = await openStream(port, admin);
    open.push(first, second);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await openStream(port, admin);
    open.push(third);
    expect(third.status).toBe(429);
    // Another token still gets its own.
    const other = await openStream(port, viewer);
    open.push(other);
    expect(other.status).toBe(200);

    first.close();
    // The slot is free once the server has seen the close: retry until it answers 200 (bounded).
    let again = { status: 0, close() {} } as Awaited<ReturnType<typeof openStream>>;
    for (let attempt = 0; attempt < 50 && again.status !== 200; attempt++) {
      again.close();
      again = await openStream(port, admin);
      if (again.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    open.push(again);
    expect(again.status).toBe(200);
  });

  it('refuses a stream past the total limit with its own message', async () => {
    const tokens = [admin, viewer, await createApiToken(db.handle.db, { name: 'v2', role: 'viewer', now: Date.now() })];
    const streams = [];
    for (const token of [tokens[0]!, tokens[0]!, tokens[1]!, tokens[1]!]) streams.push(await openStream(port, token));
    open.push(...streams);
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    const refused = await get(port, '/api/events', tokens[2]);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toEqual({
      code: 'TOO_MANY_STREAMS',
      message: expect.stringContaining('server.max_event_streams'),
    });
  });

  it('drops a client that stops reading (too much unsent, or no drain within the stall time)', async () => {
    const stream = await openStream(port, admin);
    open.push(stream);
    stream.response.pause();
    const closed = new Promise<void>((resolve) => stream.response.once('close', () => resolve()));
    // Large events (real rows of the change log), enough to fill the kernel's socket buffers on both sides; then
    // the stream passes 64 kB unsent or does not drain for 1 s, and the server hangs up. Reading again afterwards
    // ends at that hang-up (a stream still served would never end).
    const data = { text: 'x'.repeat(50_000) };
    for (let i = 0; i < 300; i++) {
      await recordEvent(db.handle.db, {
        kind: 'test.big',
        subjectType: 'test',
        subjectId: i,
        actor: 't',
        data,
        now: Date.now(),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 2500));
    let received = 0;
    stream.response.on('data', (chunk: Buffer) => (received += chunk.length));
    stream.response.resume();
    await closed;
    expect(received).toBeLessThan(300 * 50_000);
  });

  it('logs no token at any level: not from the header, not from ?access_token= of a refused stream', async () => {
    logs.lines.length = 0;
    const secret = 'not-a-valid-token-0123456789abcdef';
    await get(port, `/api/events?access_token=${secret}`);
    await get(port, `/api/events?kinds=task.&access_token=${secret}&after=x`);
    await get(port, `/api/tasks/${'1'.repeat(150)}?access_token=${secret}`);
    await get(port, '/api/tasks', secret);
    await get(port, '/api/tasks/%E0%A4%A', admin);
    await get(port, '/api/tasks', admin);
    const text = JSON.stringify(logs.lines);
    expect(logs.lines.length).toBeGreaterThan(3);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(admin);
    expect(text).toContain('access_token=[REDACTED]');
  });
});
