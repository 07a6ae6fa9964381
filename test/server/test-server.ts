/**
 * @module The server under test: a real database (per dialect), a real queue and `buildServer`, with admin, approver
 * and viewer tokens created fresh before each test, and `request()` wrapping `app.inject()`.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import type { DialectName } from '../../src/store/dialect.js';
import { buildServer, type ServerDeps } from '../../src/server/build-server.js';
import { createApiToken, ensureAdminToken } from '../../src/server/api-tokens.js';
import { useTestDatabase, type TestDatabase } from '../support/dialects.js';

export const TEST_VERSION = '0.0.0-test';

export interface TestServer {
  db: TestDatabase;
  app: FastifyInstance;
  queue: TaskQueue;
  tokens: { admin: string; approver: string; viewer: string };
  /** `app.inject()` with `Authorization: Bearer <token>` (the admin token unless `token` says otherwise; null: none). */
  request(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  /** Rows in `tasks` and `events`, to show a refused request wrote nothing. */
  rowCounts(): Promise<{ tasks: number; events: number }>;
}

/** Extra server dependencies, e.g. the data directory and environment of forge repositories, or the settings. */
export type TestServerExtras = Pick<ServerDeps, 'dataDir' | 'env' | 'settings'>;

export function useTestServer(dialect: DialectName, extras: TestServerExtras = {}): TestServer {
  const db = useTestDatabase(dialect);
  const server = { db, tokens: {} } as TestServer;

  beforeAll(async () => {
    server.queue = new TaskQueue(db.handle, DEFAULT_QUEUE_SETTINGS);
    server.app = await buildServer({
      handle: db.handle,
      queue: server.queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: TEST_VERSION,
      ...extras,
    });
    await server.app.ready();
  });
  beforeEach(async () => {
    const now = Date.now();
    const admin = await ensureAdminToken(db.handle.db, db.dir, now);
    server.tokens.admin = fs.readFileSync(admin.path, 'utf8').trim();
    server.tokens.approver = await createApiToken(db.handle.db, { name: 'release-bot', role: 'approver', now });
    server.tokens.viewer = await createApiToken(db.handle.db, { name: 'grafana', role: 'viewer', now });
  });
  afterAll(async () => {
    await server.app?.close();
    await server.queue?.close();
  });

  server.request = ({ token, headers, ...options }) => {
    const bearer = token === undefined ? server.tokens.admin : token;
    return server.app.inject({
      ...options,
      headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...headers },
    });
  };
  server.rowCounts = async () => {
    const count = async (table: 'tasks' | 'events') => {
      const row = await db.handle.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };
    return { tasks: await count('tasks'), events: await count('events') };
  };
  return server;
}

/** The `{"error":{"code","message"}}` body of a response. */
export function errorOf(response: LightMyRequestResponse): { code: string; message: string } {
  return (response.json() as { error: { code: string; message: string } }).error;
}

/** A log destination keeping the server's JSON log lines, to check what it logged. */
export class LogLines extends Writable {
  readonly lines: Array<{ level: number; msg?: string; err?: { message: string } }> = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
    done();
  }
  count(message: string): number {
    return this.lines.filter((line) => line.msg === message).length;
  }
}
