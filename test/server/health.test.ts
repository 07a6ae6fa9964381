import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { openDatabase } from '../../src/store/open-database.js';
import { DIALECTS } from '../support/dialects.js';
import { TEST_VERSION, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: GET /health', (dialect) => {
  const s = useTestServer(dialect);

  it('reports ok, the engine, the agents by status and the version', async () => {
    const agent = (instance: string, status: 'idle' | 'working' | 'crashed') => ({
      instance_id: instance,
      role: 'builder',
      status,
      current_task_id: null,
      provider: 'claude',
      host: 'test',
      pid: 1,
      status_detail: null,
      heartbeat_at: 1,
      started_at: 1,
    });
    await s.db.handle.db
      .insertInto('agents')
      .values([agent('a', 'idle'), agent('b', 'working'), agent('c', 'working'), agent('d', 'crashed')])
      .execute();
    const response = await s.request({ method: 'GET', url: '/health', token: null });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      db: { ok: true, dialect },
      agents: { idle: 1, working: 2, rate_limited: 0, stopped: 0, crashed: 1 },
      version: TEST_VERSION,
    });
  });

  it('reports degraded with 503 when the database does not answer', async () => {
    const handle = await openDatabase(
      s.db.databaseUrl ? { databaseUrl: s.db.databaseUrl, poolSize: 1 } : { sqlitePath: s.db.sqlitePath! },
    );
    const queue = new TaskQueue(handle, DEFAULT_QUEUE_SETTINGS);
    const app = await buildServer({
      handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: TEST_VERSION,
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      await handle.close();
      const response = await app.inject({ method: 'GET', url: '/health' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: 'degraded', db: { ok: false, dialect }, version: TEST_VERSION });
    } finally {
      await app.close();
      await queue.close();
    }
  });
});
