import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, labelValue } from '../../src/server/plugins/metrics.js';
import { DIALECTS } from '../support/dialects.js';
import { TEST_VERSION, useTestServer } from './test-server.js';

describe('labelValue', () => {
  it('escapes backslashes, quotes and line breaks', () => {
    expect(labelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});

/** The sample lines of an exposition (no comments), in order. */
const samplesOf = (body: string) => body.split('\n').filter((line) => line && !line.startsWith('#'));

describe.each(DIALECTS)('%s: GET /metrics', (dialect) => {
  const s = useTestServer(dialect);

  it('exposes task counts by status and the build version as Prometheus text', async () => {
    await s.queue.enqueue({ type: 'deploy', createdBy: 'test' });
    await s.queue.enqueue({ type: 'deploy', createdBy: 'test' });
    const cancelled = await s.queue.enqueue({ type: 'deploy', createdBy: 'test' });
    await s.queue.cancel(cancelled.id, 'test');
    const response = await s.request({ method: 'GET', url: '/metrics', token: null });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = samplesOf(response.body);
    expect(samples.filter((line) => line.startsWith('autodev_tasks{'))).toEqual([
      'autodev_tasks{status="pending"} 2',
      'autodev_tasks{status="in_progress"} 0',
      'autodev_tasks{status="completed"} 0',
      'autodev_tasks{status="failed"} 0',
      'autodev_tasks{status="cancelled"} 1',
    ]);
    expect(samples).toContain('autodev_queue_depth{status="pending",type="deploy"} 2');
    expect(samples).toContain(`autodev_build_info{version="${TEST_VERSION}"} 1`);
    expect(response.body).toContain('# TYPE autodev_tasks gauge');
  });

  it('reads durations, lease expiries, sessions, tokens, cost, rate limits and webhook deliveries from the database, the same in every replica', async () => {
    const db = s.db.handle.db;
    const now = Date.now();
    const finished = (type: string, seconds: number) => ({
      type,
      status: 'completed' as const,
      priority: 5,
      payload: '{}',
      max_attempts: 3,
      run_after: now,
      created_by: 'test',
      created_at: now - 100_000,
      updated_at: now,
      started_at: now - seconds * 1000,
      finished_at: now,
    });
    await db
      .insertInto('tasks')
      .values([finished('deploy', 3), finished('deploy', 40), finished('review', 500)])
      .execute();
    await db
      .insertInto('events')
      .values({
        kind: 'task.lease_expired',
        subject_type: 'task',
        subject_id: '1',
        actor: 'q',
        data: '{}',
        created_at: now,
      })
      .execute();
    const session = (role: string, provider: string, status: 'succeeded' | 'failed', tokens: number, cost: number) => ({
      role,
      provider,
      status,
      tokens_in: tokens,
      tokens_out: tokens / 2,
      tokens_cache: 0,
      cost_usd: cost,
      started_at: now,
    });
    await db
      .insertInto('sessions')
      .values([
        session('builder', 'claude', 'succeeded', 1000, 0.5),
        session('builder', 'claude', 'failed', 200, 0.25),
        session('reviewer', 'codex', 'succeeded', 100, 0.125),
      ])
      .execute();
    await db
      .insertInto('provider_limits')
      .values({ provider: 'claude', limited_until: now + 60_000, reason: 'rate limited', updated_at: now })
      .execute();
    await db
      .insertInto('webhook_deliveries')
      .values([
        {
          forge: 'gitlab',
          delivery_id: 'd1',
          event: 'issue',
          action_key: null,
          outcome: 'acted',
          detail: '',
          workflow_id: null,
          task_id: null,
          received_at: now,
        },
        {
          forge: 'gitlab',
          delivery_id: 'd2',
          event: 'issue',
          action_key: null,
          outcome: 'duplicate',
          detail: '',
          workflow_id: null,
          task_id: null,
          received_at: now,
        },
      ])
      .execute();

    const response = await s.request({ method: 'GET', url: '/metrics', token: null });
    const samples = samplesOf(response.body);
    for (const line of [
      'autodev_task_duration_seconds_bucket{type="deploy",le="1"} 0',
      'autodev_task_duration_seconds_bucket{type="deploy",le="5"} 1',
      'autodev_task_duration_seconds_bucket{type="deploy",le="60"} 2',
      'autodev_task_duration_seconds_bucket{type="deploy",le="+Inf"} 2',
      'autodev_task_duration_seconds_sum{type="deploy"} 43',
      'autodev_task_duration_seconds_count{type="deploy"} 2',
      'autodev_task_duration_seconds_bucket{type="review",le="300"} 0',
      'autodev_task_duration_seconds_bucket{type="review",le="600"} 1',
      'autodev_task_lease_expiries_last_hour 1',
      'autodev_sessions{role="builder",provider="claude",outcome="succeeded"} 1',
      'autodev_sessions{role="builder",provider="claude",outcome="failed"} 1',
      'autodev_session_tokens{role="builder",provider="claude",kind="in"} 1200',
      'autodev_session_tokens{role="builder",provider="claude",kind="out"} 600',
      'autodev_session_cost_usd{role="builder",provider="claude"} 0.75',
      'autodev_session_cost_usd{role="reviewer",provider="codex"} 0.125',
      'autodev_provider_rate_limited{provider="claude"} 1',
      'autodev_webhook_deliveries{forge="gitlab",outcome="acted"} 1',
      'autodev_webhook_deliveries{forge="gitlab",outcome="duplicate"} 1',
    ]) {
      expect(samples, line).toContain(line);
    }
    expect(response.body).toContain('# TYPE autodev_task_duration_seconds histogram');
    // A second replica (another registry on the same database) answers the same.
    const replica = createMetricsRegistry({ handle: s.db.handle, version: TEST_VERSION, clock: () => now });
    const mine = createMetricsRegistry({ handle: s.db.handle, version: TEST_VERSION, clock: () => now });
    expect(await replica.metrics()).toBe(await mine.metrics());
  });
});
