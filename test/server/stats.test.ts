/**
 * @module `GET /api/stats/activity` on both databases: tasks completed/failed per UTC day of finishing, session cost
 * and tokens per UTC day of starting, empty days present with zeros, the day edges (midnight belongs to the new day),
 * rows outside the window ignored, and bad `days` values refused.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { activityByDay, DAY_MS, DEFAULT_ACTIVITY_DAYS, MAX_ACTIVITY_DAYS } from '../../src/server/plugins/stats.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

/** Today in these tests: 2026-11-24 15:30 UTC. */
const NOW = Date.UTC(2026, 10, 24, 15, 30);
const MIDNIGHT = Date.UTC(2026, 10, 24);
const day = (n: number) => MIDNIGHT - n * DAY_MS; // midnight n days ago

describe.each(DIALECTS)('%s: activity stats', (dialect) => {
  const s = useTestServer(dialect);
  const db = () => s.db.handle.db;

  const task = async (status: 'completed' | 'failed' | 'pending' | 'cancelled', finishedAt: number | null) => {
    await db()
      .insertInto('tasks')
      .values({
        type: 'write_spec',
        status,
        priority: 5,
        payload: '{}',
        max_attempts: 3,
        run_after: 0,
        created_by: 'test',
        created_at: (finishedAt ?? NOW) - 1000,
        updated_at: finishedAt ?? NOW,
        finished_at: finishedAt,
      })
      .execute();
  };
  const session = async (startedAt: number, costUsd: number, tokensIn: number, tokensOut: number) => {
    await db()
      .insertInto('sessions')
      .values({
        task_id: null,
        role: 'builder',
        provider: 'claude',
        status: 'succeeded',
        tokens_in: tokensIn,
        tokens_out: tokensOut,
        cost_usd: costUsd,
        started_at: startedAt,
        finished_at: startedAt + 60_000,
      })
      .execute();
  };

  it('answers every day with zeros when nothing happened', async () => {
    const buckets = await activityByDay(db(), 3, NOW);
    expect(buckets).toEqual([
      { day: '2026-11-22', completed: 0, failed: 0, cost_usd: 0, tokens: 0 },
      { day: '2026-11-23', completed: 0, failed: 0, cost_usd: 0, tokens: 0 },
      { day: '2026-11-24', completed: 0, failed: 0, cost_usd: 0, tokens: 0 },
    ]);
  });

  it('buckets tasks and spend per UTC day, with empty days between, and ignores rows outside the window', async () => {
    // Today: two completed (one exactly at midnight), one failed.
    await task('completed', MIDNIGHT);
    await task('completed', NOW - 1);
    await task('failed', MIDNIGHT + 3_600_000);
    // Yesterday: one completed a millisecond before midnight (it belongs to yesterday).
    await task('completed', MIDNIGHT - 1);
    // Three days ago: one completed, one failed; two days ago: nothing.
    await task('completed', day(3) + 5 * 3_600_000);
    await task('failed', day(3) + 23 * 3_600_000);
    // Not counted: pending, cancelled, before the window (day 5 is outside a 5-day window), in the future.
    await task('pending', null);
    await task('cancelled', MIDNIGHT + 1000);
    await task('completed', day(5) + 1000);
    await task('completed', MIDNIGHT + DAY_MS + 1000);

    await session(MIDNIGHT + 1000, 0.1, 100, 20);
    await session(NOW - 5000, 0.2, 300, 30);
    await session(day(1), 1.25, 1000, 500);
    await session(day(4) + 1, 0.05, 10, 1);
    await session(day(5), 99, 99, 99); // outside the window

    const response = await s.request({ method: 'GET', url: '/api/stats/activity?days=5', token: s.tokens.viewer });
    expect(response.statusCode, response.body).toBe(200);
    // The route uses the real clock; compare the stored rows through the function with the fixed clock.
    expect(response.json().days).toBe(5);
    expect(response.json().buckets).toHaveLength(5);

    expect(await activityByDay(db(), 5, NOW)).toEqual([
      { day: '2026-11-20', completed: 0, failed: 0, cost_usd: 0.05, tokens: 11 },
      { day: '2026-11-21', completed: 1, failed: 1, cost_usd: 0, tokens: 0 },
      { day: '2026-11-22', completed: 0, failed: 0, cost_usd: 0, tokens: 0 },
      { day: '2026-11-23', completed: 1, failed: 0, cost_usd: 1.25, tokens: 1500 },
      { day: '2026-11-24', completed: 2, failed: 1, cost_usd: 0.3, tokens: 450 },
    ]);
    // A one-day window is today alone.
    expect(await activityByDay(db(), 1, NOW)).toEqual([
      { day: '2026-11-24', completed: 2, failed: 1, cost_usd: 0.3, tokens: 450 },
    ]);
  });

  it(`defaults to ${DEFAULT_ACTIVITY_DAYS} days ending today through the route's clock`, async () => {
    await task('completed', NOW - 1);
    await task('failed', day(13));
    await session(MIDNIGHT, 0.3, 400, 50);
    const app = await buildServer({
      handle: s.db.handle,
      queue: new TaskQueue(s.db.handle, DEFAULT_QUEUE_SETTINGS),
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
      clock: () => NOW,
    });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/api/stats/activity',
        headers: { authorization: `Bearer ${s.tokens.viewer}` },
      });
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      expect(body.days).toBe(DEFAULT_ACTIVITY_DAYS);
      expect(body.buckets).toHaveLength(DEFAULT_ACTIVITY_DAYS);
      expect(body.buckets[0]).toEqual({ day: '2026-11-11', completed: 0, failed: 1, cost_usd: 0, tokens: 0 });
      expect(body.buckets.at(-1)).toEqual({ day: '2026-11-24', completed: 1, failed: 0, cost_usd: 0.3, tokens: 450 });
    } finally {
      await app.close();
    }
  });

  it.each([
    ['days=0', 'days=0', 'days'],
    ['days above the maximum', `days=${MAX_ACTIVITY_DAYS + 1}`, 'days'],
    ['days not a number', 'days=week', 'days'],
    ['days negative', 'days=-3', 'days'],
    ['an unknown parameter', 'days=7&from=2026-01-01', 'from'],
  ])('answers 400 VALIDATION_FAILED to %s, naming the parameter', async (_what, query, named) => {
    const response = await s.request({ method: 'GET', url: `/api/stats/activity?${query}`, token: s.tokens.viewer });
    expect(response.statusCode, response.body).toBe(400);
    expect(errorOf(response).code).toBe('VALIDATION_FAILED');
    expect(errorOf(response).message).toContain(named);
  });

  it('needs a token', async () => {
    expect((await s.request({ method: 'GET', url: '/api/stats/activity', token: null })).statusCode).toBe(401);
  });
});
