import { describe, expect, it } from 'vitest';
import { labelValue } from '../../src/server/plugins/metrics.js';
import { DIALECTS } from '../support/dialects.js';
import { TEST_VERSION, useTestServer } from './test-server.js';

describe('labelValue', () => {
  it('escapes backslashes, quotes and line breaks', () => {
    expect(labelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});

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
    const samples = response.body.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(samples).toEqual([
      'autodev_tasks{status="pending"} 2',
      'autodev_tasks{status="in_progress"} 0',
      'autodev_tasks{status="completed"} 0',
      'autodev_tasks{status="failed"} 0',
      'autodev_tasks{status="cancelled"} 1',
      `autodev_build_info{version="${TEST_VERSION}"} 1`,
    ]);
    expect(response.body).toContain('# TYPE autodev_tasks gauge');
  });
});
