import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

interface TaskBody {
  id: number;
  type: string;
  status: string;
  priority: number;
  payload: Record<string, unknown>;
  error: string | null;
  run_after: string;
  max_attempts: number;
  created_by: string;
}

describe.each(DIALECTS)('%s: task routes', (dialect) => {
  const s = useTestServer(dialect);

  const create = async (body: Record<string, unknown>, token?: string) => {
    const response = await s.request({ method: 'POST', url: '/api/tasks', payload: body, ...(token ? { token } : {}) });
    expect(response.statusCode, response.body).toBe(201);
    return response.json() as TaskBody;
  };

  describe('POST /api/tasks', () => {
    it('creates a pending task with defaults, recorded as created by the token', async () => {
      const response = await s.request({ method: 'POST', url: '/api/tasks', payload: { type: 'write_spec' } });
      expect(response.statusCode).toBe(201);
      const task = response.json() as TaskBody;
      expect(response.headers.location).toBe(`/api/tasks/${task.id}`);
      expect(task).toMatchObject({
        type: 'write_spec',
        status: 'pending',
        priority: 5,
        payload: {},
        max_attempts: 3,
        created_by: 'api:admin',
      });
      const stored = await s.queue.get(task.id);
      expect(stored.createdBy).toBe('api:admin');
    });

    it('takes priority, payload, run_after and max_attempts', async () => {
      const task = await create(
        {
          type: 'implement_feature',
          priority: 9,
          payload: { story: 12, tags: ['a'] },
          run_after: '2030-01-02T03:04:05+01:00',
          max_attempts: 7,
        },
        s.tokens.approver,
      );
      expect(task).toMatchObject({
        priority: 9,
        payload: { story: 12, tags: ['a'] },
        run_after: '2030-01-02T02:04:05.000Z',
        max_attempts: 7,
        created_by: 'api:release-bot',
      });
    });

    it('writes a task.created event in the same change', async () => {
      const task = await create({ type: 'deploy' });
      const events = await s.db.handle.db.selectFrom('events').selectAll().execute();
      expect(events.map((e) => [e.kind, e.subject_id, e.actor])).toEqual([
        ['task.created', String(task.id), 'api:admin'],
      ]);
    });
  });

  describe('GET /api/tasks/:id', () => {
    it('shows a task', async () => {
      const task = await create({ type: 'review_mr', payload: { mr: 3 } });
      const response = await s.request({ method: 'GET', url: `/api/tasks/${task.id}`, token: s.tokens.viewer });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(task);
    });

    it('answers 404 TASK_NOT_FOUND for an unknown id', async () => {
      const response = await s.request({ method: 'GET', url: '/api/tasks/999999' });
      expect(response.statusCode).toBe(404);
      expect(errorOf(response).code).toBe('TASK_NOT_FOUND');
      expect(errorOf(response).message).toContain('999999');
    });
  });

  describe('GET /api/tasks', () => {
    it('lists newest first with a null next_cursor on the last page', async () => {
      const first = await create({ type: 'deploy' });
      const second = await create({ type: 'run_tests' });
      const response = await s.request({ method: 'GET', url: '/api/tasks', token: s.tokens.viewer });
      expect(response.statusCode).toBe(200);
      const page = response.json() as { tasks: TaskBody[]; next_cursor: string | null };
      expect(page.tasks.map((t) => t.id)).toEqual([second.id, first.id]);
      expect(page.next_cursor).toBeNull();
    });

    it('walks every task exactly once through the pages', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 7; i++) ids.push((await create({ type: 'deploy', payload: { i } })).id);
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/api/tasks?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const response = await s.request({ method: 'GET', url });
        expect(response.statusCode).toBe(200);
        const page = response.json() as { tasks: TaskBody[]; next_cursor: string | null };
        expect(page.tasks.length).toBeLessThanOrEqual(3);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it('filters by status and type', async () => {
      const spec = await create({ type: 'write_spec' });
      const deploy = await create({ type: 'deploy' });
      await s.queue.cancel(deploy.id, 'test');
      const byType = await s.request({ method: 'GET', url: '/api/tasks?type=write_spec' });
      expect((byType.json() as { tasks: TaskBody[] }).tasks.map((t) => t.id)).toEqual([spec.id]);
      const byStatus = await s.request({ method: 'GET', url: '/api/tasks?status=cancelled' });
      expect((byStatus.json() as { tasks: TaskBody[] }).tasks.map((t) => t.id)).toEqual([deploy.id]);
      const both = await s.request({ method: 'GET', url: '/api/tasks?status=pending&type=deploy' });
      expect((both.json() as { tasks: TaskBody[] }).tasks).toEqual([]);
    });
  });

  describe('GET /api/tasks/counts', () => {
    it('counts tasks by status', async () => {
      await create({ type: 'deploy' });
      const cancelled = await create({ type: 'deploy' });
      await s.queue.cancel(cancelled.id, 'test');
      const response = await s.request({ method: 'GET', url: '/api/tasks/counts', token: s.tokens.viewer });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        counts: { pending: 1, in_progress: 0, completed: 0, failed: 0, cancelled: 1 },
        total: 2,
      });
    });
  });

  describe('POST /api/tasks/:id/cancel', () => {
    it('cancels a pending task with a reason', async () => {
      const task = await create({ type: 'deploy' });
      const response = await s.request({
        method: 'POST',
        url: `/api/tasks/${task.id}/cancel`,
        payload: { reason: 'superseded by #12' },
        token: s.tokens.approver,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: task.id, status: 'cancelled', error: 'superseded by #12' });
      const events = await s.db.handle.db.selectFrom('events').select(['kind', 'actor']).orderBy('id').execute();
      expect(events.at(-1)).toEqual({ kind: 'task.cancelled', actor: 'api:release-bot' });
    });

    it('cancels without a body, and with an empty JSON body', async () => {
      const one = await create({ type: 'deploy' });
      const two = await create({ type: 'deploy' });
      const bare = await s.request({ method: 'POST', url: `/api/tasks/${one.id}/cancel` });
      expect(bare.statusCode, bare.body).toBe(200);
      const empty = await s.request({
        method: 'POST',
        url: `/api/tasks/${two.id}/cancel`,
        headers: { 'content-type': 'application/json' },
        payload: '',
      });
      expect(empty.statusCode, empty.body).toBe(200);
      expect(empty.json()).toMatchObject({ status: 'cancelled', error: 'cancelled by api:admin' });
    });

    it('answers 409 TASK_NOT_CANCELLABLE for a completed task and changes nothing', async () => {
      const task = await create({ type: 'deploy' });
      const claimed = await s.queue.claim('worker-1', ['deploy']);
      await s.queue.complete({ taskId: claimed!.id, workerId: 'worker-1' }, { ok: true });
      const before = await s.rowCounts();
      const response = await s.request({ method: 'POST', url: `/api/tasks/${task.id}/cancel` });
      expect(response.statusCode).toBe(409);
      expect(errorOf(response).code).toBe('TASK_NOT_CANCELLABLE');
      expect((await s.queue.get(task.id)).status).toBe('completed');
      expect(await s.rowCounts()).toEqual(before);
    });

    it('answers 404 TASK_NOT_FOUND for an unknown id', async () => {
      const response = await s.request({ method: 'POST', url: '/api/tasks/424242/cancel' });
      expect(response.statusCode).toBe(404);
      expect(errorOf(response).code).toBe('TASK_NOT_FOUND');
    });
  });

  describe('POST /api/tasks/:id/retry', () => {
    it('puts a cancelled task back to pending', async () => {
      const task = await create({ type: 'deploy' });
      await s.queue.cancel(task.id, 'test');
      const response = await s.request({
        method: 'POST',
        url: `/api/tasks/${task.id}/retry`,
        token: s.tokens.approver,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: task.id, status: 'pending', error: null });
    });

    it('answers 409 TASK_NOT_RETRYABLE for a pending task and changes nothing', async () => {
      const task = await create({ type: 'deploy' });
      const before = await s.rowCounts();
      const response = await s.request({ method: 'POST', url: `/api/tasks/${task.id}/retry` });
      expect(response.statusCode).toBe(409);
      expect(errorOf(response).code).toBe('TASK_NOT_RETRYABLE');
      expect(await s.rowCounts()).toEqual(before);
    });

    it('answers 404 TASK_NOT_FOUND for an unknown id', async () => {
      const response = await s.request({ method: 'POST', url: '/api/tasks/424242/retry' });
      expect(response.statusCode).toBe(404);
      expect(errorOf(response).code).toBe('TASK_NOT_FOUND');
    });
  });
});
