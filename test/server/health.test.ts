import { describe, expect, it } from 'vitest';
import { FOLD_GONE_AGENTS_MS } from '../../src/agents/agent-registry.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { openDatabase } from '../../src/store/open-database.js';
import type { AgentStatus } from '../../src/store/schema.js';
import { DIALECTS } from '../support/dialects.js';
import { TEST_VERSION, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: GET /health', (dialect) => {
  const s = useTestServer(dialect);

  it('reports ok, the engine, the live agents by status (gone ones folded) and the version', async () => {
    const now = Date.now();
    const agent = (instance: string, status: AgentStatus, heartbeatAt: number) => ({
      instance_id: instance,
      role: 'builder',
      status,
      current_task_id: null,
      provider: 'claude',
      host: 'test',
      pid: 1,
      status_detail: null,
      heartbeat_at: heartbeatAt,
      started_at: 1,
    });
    await s.db.handle.db
      .insertInto('agents')
      .values([
        agent('a', 'idle', now),
        agent('b', 'working', now),
        agent('c', 'working', now),
        agent('d', 'crashed', now),
        agent('e', 'waiting', now),
        // Silent for two minutes: its process died, shown as crashed, not yet folded.
        agent('f', 'idle', now - 2 * 60_000),
        // Processes gone long ago: counted apart.
        agent('g', 'stopped', now - FOLD_GONE_AGENTS_MS - 60_000),
        agent('h', 'stopped', now - FOLD_GONE_AGENTS_MS - 60_000),
        agent('i', 'idle', now - FOLD_GONE_AGENTS_MS - 60_000),
      ])
      .execute();
    const response = await s.request({ method: 'GET', url: '/health', token: null });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      db: { ok: true, dialect },
      agents: { idle: 1, working: 2, waiting: 1, rate_limited: 0, stopped: 0, crashed: 2 },
      agents_folded: { stopped: 2, crashed: 1 },
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
