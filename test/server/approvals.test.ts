/**
 * @module The approval routes on both engines: list by status, approve, reject with a reason (back to the architect),
 * and the refusals (viewer 403, no reason 400, decided twice 409, unknown 404) that change nothing.
 */
import { describe, expect, it } from 'vitest';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

const STORY = { status: 'done', summary: 's', stories: [{ title: 'T', body: 'B', acceptance_criteria: ['works'] }] };
const SPEC = {
  status: 'done',
  summary: 's',
  spec_markdown: '# Spec',
  files_to_touch: ['a.ts'],
  test_plan: 't',
  risks: [],
};

describe.each(DIALECTS)('%s: approval routes', (dialect) => {
  const s = useTestServer(dialect);

  /** A story workflow waiting at its spec approval; returns the approval id. */
  async function specApproval(): Promise<number> {
    const deps = { queue: s.queue, maxFixRounds: 3 };
    await startStoryWorkflow(s.db.handle.db, deps, { title: 'Sum', body: 'b', repoId: null, createdBy: 'test' });
    for (const [type, result] of [
      ['create_user_story', STORY],
      ['write_spec', SPEC],
    ] as const) {
      const task = await s.queue.claim('w1', [type]);
      await s.db.handle.db.transaction().execute(async (tx) => {
        await s.queue.complete({ taskId: task!.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task!, result, 'w1');
      });
    }
    const list = await s.request({ method: 'GET', url: '/api/approvals?status=pending' });
    expect(list.statusCode).toBe(200);
    const { approvals } = list.json() as { approvals: { id: number; kind: string; status: string }[] };
    expect(approvals).toEqual([expect.objectContaining({ kind: 'spec', status: 'pending' })]);
    return approvals[0]!.id;
  }

  it('approves with an approver token and records who decided', async () => {
    const id = await specApproval();
    const response = await s.request({ method: 'POST', url: `/api/approvals/${id}/approve`, token: s.tokens.approver });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      id,
      status: 'approved',
      decided_by: 'api:release-bot',
      // Only merge approvals link a merge request (test/server/merge-requests.test.ts).
      merge_request_id: null,
    });
    const pending = await s.queue.claim('w1', ['implement_feature']);
    expect(pending?.workflowId).not.toBeNull();
    const approved = await s.request({ method: 'GET', url: '/api/approvals?status=approved', token: s.tokens.viewer });
    expect((approved.json() as { approvals: unknown[] }).approvals).toHaveLength(1);
  });

  it('rejects with a reason and sends the spec back to the architect', async () => {
    const id = await specApproval();
    const response = await s.request({
      method: 'POST',
      url: `/api/approvals/${id}/reject`,
      payload: { reason: 'too broad' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ status: 'rejected', reason: 'too broad', decided_by: 'api:admin' });
    const again = await s.queue.claim('w1', ['write_spec']);
    expect(again?.payload).toMatchObject({ rejection_reason: 'too broad' });
  });

  it('refuses bad decisions with a clear 4xx and changes nothing', async () => {
    const id = await specApproval();
    const before = await s.rowCounts();
    const viewer = await s.request({ method: 'POST', url: `/api/approvals/${id}/approve`, token: s.tokens.viewer });
    expect(viewer.statusCode).toBe(403);
    const noReason = await s.request({ method: 'POST', url: `/api/approvals/${id}/reject` });
    expect(noReason.statusCode).toBe(400);
    expect(errorOf(noReason).code).toBe('REASON_REQUIRED');
    const blank = await s.request({ method: 'POST', url: `/api/approvals/${id}/reject`, payload: { reason: ' ' } });
    expect(errorOf(blank).code).toBe('REASON_REQUIRED');
    const unknown = await s.request({ method: 'POST', url: '/api/approvals/99999/approve' });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('APPROVAL_NOT_FOUND');
    const badId = await s.request({ method: 'POST', url: '/api/approvals/abc/approve' });
    expect(badId.statusCode).toBe(400);
    const badStatus = await s.request({ method: 'GET', url: '/api/approvals?status=maybe' });
    expect(badStatus.statusCode).toBe(400);
    expect(await s.rowCounts()).toEqual(before);
    expect((await s.request({ method: 'POST', url: `/api/approvals/${id}/approve` })).statusCode).toBe(200);
    const after = await s.rowCounts();
    const twice = await s.request({ method: 'POST', url: `/api/approvals/${id}/approve` });
    expect(twice.statusCode).toBe(409);
    expect(errorOf(twice).code).toBe('APPROVAL_ALREADY_DECIDED');
    const late = await s.request({ method: 'POST', url: `/api/approvals/${id}/reject`, payload: { reason: 'x' } });
    expect(late.statusCode).toBe(409);
    expect(await s.rowCounts()).toEqual(after);
  });
});
