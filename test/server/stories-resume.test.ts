/**
 * @module `POST /api/stories/:id/resume` on both engines: an approver resumes a story that waits for a human (the
 * stopped task runs again with the note; the audit event names who and why); a story that is not waiting is 409, a
 * viewer 403, a bad id or body 400, an unknown story 404, and none of them writes anything. Repository settings
 * (deploy secrets, coverage threshold) through `POST/PATCH /api/repos`.
 */
import { describe, expect, it } from 'vitest';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { DIALECTS } from '../support/dialects.js';
import { makeRepo } from '../workspace/git-fixtures.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: story resume route', (dialect) => {
  const s = useTestServer(dialect);

  /** A story whose PM task was blocked: it waits for a human. */
  async function waitingStory(): Promise<number> {
    const deps = { queue: s.queue, maxFixRounds: 3 };
    const wf = await startStoryWorkflow(s.db.handle.db, deps, {
      title: 'Sum',
      body: 'b',
      repoId: null,
      createdBy: 't',
    });
    const task = await s.queue.claim('w1', ['create_user_story']);
    const blocked = { status: 'blocked', summary: 's', blocked_reason: 'which numbers?' };
    await s.db.handle.db.transaction().execute(async (tx) => {
      await s.queue.complete({ taskId: task!.id, workerId: 'w1' }, blocked, tx);
      await onWorkflowTaskCompleted(tx, deps, task!, blocked, 'w1');
    });
    return wf.id;
  }

  it('resumes a waiting story with a note, recording who and why', async () => {
    const id = await waitingStory();
    const shown = await s.request({ method: 'GET', url: `/api/stories/${id}` });
    // The agent's blocked_reason reaches the summary and the halt.
    expect(shown.json()).toMatchObject({
      status: 'waiting_for_human',
      human_summary: expect.stringContaining('is blocked for "Sum": which numbers?'),
      halt: { kind: 'task', stage: 'story', task_type: 'create_user_story', reason: 'which numbers?', branch: null },
    });
    const response = await s.request({
      method: 'POST',
      url: `/api/stories/${id}/resume`,
      token: s.tokens.approver,
      payload: { note: 'integers only' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ id, status: 'running', stage: 'story', human_summary: null, halt: null });
    const task = await s.queue.claim('w1', ['create_user_story']);
    expect(task?.payload).toMatchObject({ note: 'integers only' });
    const event = await s.db.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'workflow.resumed')
      .executeTakeFirstOrThrow();
    expect(event.actor).toBe('api:release-bot');
    expect(JSON.parse(event.data)).toMatchObject({ note: 'integers only' });
    await s.queue.release({ taskId: task!.id, workerId: 'w1' }, 'test done');
  });

  it('refuses POST /api/tasks/:id/retry for a task of a waiting story (409, names stories resume), changes nothing', async () => {
    const id = await waitingStory();
    // Setup: the story's PM task as a dead letter leaves it (test/workflow/dead-letter-resume.test.ts runs the
    // real dead-letter path; this checks the route goes through the same rule).
    const task = await s.db.handle.db
      .updateTable('tasks')
      .set({ status: 'failed', error: 'out of attempts' })
      .where('workflow_id', '=', id)
      .returning('id')
      .executeTakeFirstOrThrow();
    const before = await s.rowCounts();
    const response = await s.request({
      method: 'POST',
      url: `/api/tasks/${task.id}/retry`,
      token: s.tokens.approver,
    });
    expect(response.statusCode, response.body).toBe(409);
    expect(errorOf(response)).toMatchObject({ code: 'TASK_NOT_RETRYABLE' });
    expect(errorOf(response).message).toContain(`stories resume ${id}`);
    expect(await s.rowCounts()).toEqual(before);
    expect((await s.queue.get(task.id)).status).toBe('failed');
  });

  it('resumes without a body', async () => {
    const id = await waitingStory();
    const response = await s.request({ method: 'POST', url: `/api/stories/${id}/resume`, token: s.tokens.approver });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ status: 'running' });
  });

  it('refuses bad requests and writes nothing', async () => {
    const id = await waitingStory();
    const before = await s.rowCounts();
    const post = (url: string, payload?: unknown, token: string | null = s.tokens.approver) =>
      s.request({ method: 'POST', url, token, ...(payload === undefined ? {} : { payload: payload as object }) });

    const viewer = await post(`/api/stories/${id}/resume`, {}, s.tokens.viewer);
    expect(viewer.statusCode).toBe(403);
    const anonymous = await post(`/api/stories/${id}/resume`, {}, null);
    expect(anonymous.statusCode).toBe(401);
    const badId = await post('/api/stories/abc/resume', {});
    expect(badId.statusCode).toBe(400);
    const unknownKey = await post(`/api/stories/${id}/resume`, { notes: 'typo' });
    expect(unknownKey.statusCode).toBe(400);
    expect(errorOf(unknownKey).code).toBe('VALIDATION_FAILED');
    const longNote = await post(`/api/stories/${id}/resume`, { note: 'x'.repeat(4001) });
    expect(longNote.statusCode).toBe(400);
    const missing = await post('/api/stories/99999/resume', {});
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).code).toBe('WORKFLOW_NOT_FOUND');
    expect(await s.rowCounts()).toEqual(before);

    const resumed = await post(`/api/stories/${id}/resume`, {});
    expect(resumed.statusCode).toBe(200);
    const afterResume = await s.rowCounts();
    const again = await post(`/api/stories/${id}/resume`, { note: 'twice' });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again)).toMatchObject({ code: 'WORKFLOW_NOT_WAITING' });
    expect(errorOf(again).message).toContain('not waiting for a human');
    expect(await s.rowCounts()).toEqual(afterResume);
  });

  it('stores deploy secrets and a coverage threshold with a repository, and refuses bad ones', async () => {
    const repo = await makeRepo();
    try {
      const bad = await s.request({
        method: 'POST',
        url: '/api/repos',
        payload: { path: repo.repo, name: 'svc', deploy_secrets: ['NOT A NAME'] },
      });
      expect(bad.statusCode).toBe(400);
      const tooHigh = await s.request({
        method: 'POST',
        url: '/api/repos',
        payload: { path: repo.repo, name: 'svc', coverage_threshold: 101 },
      });
      expect(tooHigh.statusCode).toBe(400);
      const added = await s.request({
        method: 'POST',
        url: '/api/repos',
        payload: { path: repo.repo, name: 'svc', deploy_secrets: ['FLY_API_TOKEN'], coverage_threshold: 80 },
      });
      expect(added.statusCode, added.body).toBe(201);
      expect(added.json()).toMatchObject({ deploy_secrets: ['FLY_API_TOKEN'], coverage_threshold: 80 });
      const { id } = added.json() as { id: number };
      const patched = await s.request({
        method: 'PATCH',
        url: `/api/repos/${id}`,
        payload: { coverage_threshold: null, deploy_secrets: ['FLY_API_TOKEN', 'SENTRY_DSN'] },
      });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json()).toMatchObject({
        deploy_secrets: ['FLY_API_TOKEN', 'SENTRY_DSN'],
        coverage_threshold: null,
      });
    } finally {
      await repo.cleanup();
    }
  });
});
