import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { openDatabase } from '../../src/store/open-database.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { LogLines } from './test-server.js';

describe.each(DIALECTS)("%s: a failure that is not the client's", (dialect) => {
  const t = useTestDatabase(dialect);

  it('answers 500 INTERNAL with a generic message and logs the error', async () => {
    const handle = await openDatabase(
      t.databaseUrl ? { databaseUrl: t.databaseUrl, poolSize: 1 } : { sqlitePath: t.sqlitePath! },
    );
    const queue = new TaskQueue(handle, DEFAULT_QUEUE_SETTINGS);
    const log = new LogLines();
    const app = await buildServer({
      handle,
      queue,
      logger: createLogger({ level: 'info', pretty: false, destination: log }),
      version: 'test',
    });
    try {
      await app.inject({ method: 'GET', url: '/health' });
      await handle.close();
      const response = await app.inject({
        method: 'GET',
        url: '/api/tasks',
        headers: { authorization: 'Bearer some-token' },
      });
      expect(response.statusCode).toBe(500);
      expect(response.json()).toEqual({
        error: { code: 'INTERNAL', message: 'internal error; the server log has the details' },
      });
      const errors = log.lines.filter((line) => line.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toBe('GET /api/tasks failed');
      expect(errors[0]!.err?.message.length).toBeGreaterThan(0);
    } finally {
      await app.close();
      await queue.close();
    }
  });
});
