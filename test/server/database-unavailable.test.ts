/**
 * @module The database going away under a running server: requests answer 503 DATABASE_UNAVAILABLE (an outage the
 * client can retry), not 500 INTERNAL (a bug), and the process survives its idle connections being killed.
 * PostgreSQL only: a throwaway cluster of its own, stopped mid-test. (SQLite is a file in the process.)
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { buildServer } from '../../src/server/build-server.js';
import { isDatabaseUnavailableError, openDatabase } from '../../src/store/open-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { DIALECTS } from '../support/dialects.js';
import { startPostgresCluster } from '../support/postgres-cluster.js';
import { LogLines } from './test-server.js';

describe('database outage detection', () => {
  it('tells an unreachable database from a failed statement', () => {
    expect(isDatabaseUnavailableError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    expect(isDatabaseUnavailableError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailableError(Object.assign(new Error('terminating'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailableError(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
    const both = new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })], 'connect failed');
    expect(isDatabaseUnavailableError(both)).toBe(true);
    expect(isDatabaseUnavailableError(Object.assign(new Error('syntax'), { code: '42601' }))).toBe(false);
    expect(isDatabaseUnavailableError(new Error('Cannot use a pool after calling end on the pool'))).toBe(false);
    expect(isDatabaseUnavailableError(undefined)).toBe(false);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('postgres: the database stops under a running server', () => {
  it('answers 503 DATABASE_UNAVAILABLE and keeps running', async () => {
    const cluster = await startPostgresCluster();
    const handle = await openDatabase({ databaseUrl: cluster.adminUrl, poolSize: 2 });
    const queue = new TaskQueue(handle);
    const log = new LogLines();
    const app = await buildServer({
      handle,
      queue,
      logger: createLogger({ level: 'info', pretty: false, destination: log }),
      version: 'test',
    });
    try {
      await migrateToLatest(handle);
      const token = await createApiToken(handle.db, { name: 'viewer', role: 'viewer', now: Date.now() });
      const list = () =>
        app.inject({ method: 'GET', url: '/api/tasks', headers: { authorization: `Bearer ${token}` } });
      expect((await list()).statusCode).toBe(200);

      cluster.stop();
      for (let i = 0; i < 2; i++) {
        const response = await list();
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({
          error: { code: 'DATABASE_UNAVAILABLE', message: 'the database cannot be reached; try again shortly' },
        });
      }
      const errors = log.lines.filter((line) => line.level >= 50);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((line) => line.msg === 'GET /api/tasks failed')).toBe(true);
    } finally {
      await app.close();
      await queue.close();
      await handle.close().catch(() => undefined);
      cluster.stop();
    }
  });
});
