/**
 * @module The project routes on both databases: list (by status; an unknown status is 400), detail (404 for an
 * unknown id), and the decisions (approve with no body, reject with a required reason, defer with notes and an
 * optional date, reopen) with who decided in the audit log; refusals (viewer 403, bad body 400, wrong state 409)
 * write nothing. The generic `POST /api/approvals/:id/approve` on a project approval does what `approve` does.
 */
import { describe, expect, it } from 'vitest';
import { startProductWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { DIALECTS } from '../support/dialects.js';
import { ASSESSMENT, assessProject, startProposal } from '../support/project-fixtures.js';
import { errorOf, useTestServer } from './test-server.js';

let counter = 0;

describe.each(DIALECTS)('%s: project routes', (dialect) => {
  const s = useTestServer(dialect);
  const db = () => s.db.handle.db;

  /** A proposed project, as a PM's build_product result starts it, after the Architect's assessment. */
  async function proposed(): Promise<number> {
    counter += 1;
    const row = await startProductWorkflow(db(), workflowDeps(s.queue, 3), {
      proposal: {
        name: `tool-${counter}`,
        title: `Tool ${counter}`,
        problem: 'A problem',
        audience: 'Developers',
        spec_markdown: '# Tool',
        ratings: { market: { score: 7, reason: 'fine' } },
        targets: ['npm'],
        estimated_tokens: 1000,
      },
      idea: 'an idea',
      sourceTaskId: null,
      createdBy: 'pm@host:1#0',
    });
    await assessProject(s.queue);
    return row.id;
  }
  const post = (url: string, payload?: Record<string, unknown>, token?: string) =>
    s.request({ method: 'POST', url, ...(payload === undefined ? {} : { payload }), ...(token ? { token } : {}) });

  it('lists and shows projects; unknown status and id are clear errors', async () => {
    const id = await proposed();
    const listed = await s.request({ method: 'GET', url: '/api/projects?status=proposed', token: s.tokens.viewer });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().projects.map((p: { id: number }) => p.id)).toContain(id);
    const shown = await s.request({ method: 'GET', url: `/api/projects/${id}`, token: s.tokens.viewer });
    expect(shown.json()).toMatchObject({ id, status: 'proposed', idea: 'an idea', proposed_by: 'pm@host:1#0' });
    // Who rated what: the PM the market, the Architect the rest, with its estimate and concerns.
    expect(shown.json().ratings).toEqual({
      market: { score: 7, reason: 'fine', by: 'pm' },
      feasibility: { ...ASSESSMENT.feasibility, by: 'architect' },
      effort: { ...ASSESSMENT.effort, by: 'architect' },
      risk: { ...ASSESSMENT.risk, by: 'architect' },
    });
    expect(shown.json().assessment).toMatchObject({
      status: 'done',
      by: 'architect-1',
      verdict: 'feasible',
      estimate: ASSESSMENT.estimate,
      concerns: ASSESSMENT.concerns,
      error: null,
    });
    expect(shown.json().approval_id).toEqual(expect.any(Number));
    const badStatus = await s.request({ method: 'GET', url: '/api/projects?status=nope' });
    expect(badStatus.statusCode).toBe(400);
    const missing = await s.request({ method: 'GET', url: '/api/projects/99999' });
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).code).toBe('PROJECT_NOT_FOUND');
  });

  it('reject needs a reason, defer needs notes and a real date, viewers may not decide: nothing changes', async () => {
    const id = await proposed();
    const before = await s.rowCounts();
    for (const [url, payload, status, code] of [
      [`/api/projects/${id}/reject`, {}, 400, 'VALIDATION_FAILED'],
      [`/api/projects/${id}/reject`, { reason: '   ' }, 400, 'REASON_REQUIRED'],
      [`/api/projects/${id}/defer`, { until: '2099-01-01' }, 400, 'VALIDATION_FAILED'],
      [`/api/projects/${id}/defer`, { notes: 'later', until: 'next tuesday' }, 400, 'VALIDATION_FAILED'],
      [`/api/projects/${id}/defer`, { notes: 'later', until: '2001-01-01' }, 400, 'VALIDATION_FAILED'],
      [`/api/projects/${id}/approve`, { extra: true }, 400, 'VALIDATION_FAILED'],
      [`/api/projects/${id}/reopen`, undefined, 409, 'PROJECT_NOT_DECIDABLE'],
      [`/api/projects/99999/approve`, undefined, 404, 'PROJECT_NOT_FOUND'],
    ] as const) {
      const refused = await post(url, payload);
      expect(refused.statusCode, `${url} ${JSON.stringify(payload)}: ${refused.body}`).toBe(status);
      expect(errorOf(refused).code).toBe(code);
    }
    const viewer = await post(`/api/projects/${id}/approve`, undefined, s.tokens.viewer);
    expect(viewer.statusCode).toBe(403);
    expect(await s.rowCounts()).toEqual(before);
    expect((await s.request({ method: 'GET', url: `/api/projects/${id}` })).json().status).toBe('proposed');
  });

  it('reject keeps the reason; defer keeps the notes and reopen brings it back; decisions name who', async () => {
    const rejectedId = await proposed();
    const rejected = await post(`/api/projects/${rejectedId}/reject`, { reason: 'Not our market' }, s.tokens.approver);
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json()).toMatchObject({
      status: 'rejected',
      decisions: [{ decision: 'rejected', by: 'api:release-bot', reason: 'Not our market' }],
    });
    expect((await post(`/api/projects/${rejectedId}/approve`)).statusCode).toBe(409);

    const id = await proposed();
    const deferred = await post(`/api/projects/${id}/defer`, { notes: 'After Q1', until: '2099-01-01' });
    expect(deferred.statusCode, deferred.body).toBe(200);
    expect(deferred.json()).toMatchObject({ status: 'deferred', deferred_until: '2099-01-01T00:00:00.000Z' });
    const reopened = await post(`/api/projects/${id}/reopen`);
    expect(reopened.json()).toMatchObject({ status: 'proposed', deferred_until: null });
    expect(reopened.json().decisions.map((d: { decision: string }) => d.decision)).toEqual([
      'deferred',
      'brought_back',
    ]);
  });

  it("a proposal waiting for the Architect's assessment shows it pending and cannot be decided yet", async () => {
    counter += 1;
    const id = await startProposal(s.queue, { name: `pending-${counter}`, title: 'Pending' });
    const shown = (await s.request({ method: 'GET', url: `/api/projects/${id}` })).json();
    expect(shown).toMatchObject({
      status: 'proposed',
      approval_id: null,
      assessment: { status: 'pending', verdict: null },
      ratings: { market: { by: 'pm' }, feasibility: null, effort: null, risk: null },
    });
    const before = await s.rowCounts();
    const refused = await post(`/api/projects/${id}/approve`, undefined, s.tokens.approver);
    expect(refused.statusCode).toBe(409);
    expect(errorOf(refused)).toMatchObject({
      code: 'PROJECT_NOT_DECIDABLE',
      message: expect.stringContaining('Architect'),
    });
    expect(await s.rowCounts()).toEqual(before);
  });

  it('a blocked assessment shows failed with why; publish-retry asks the Architect again', async () => {
    counter += 1;
    const id = await startProposal(s.queue, { name: `blocked-${counter}`, title: 'Blocked' });
    await assessProject(s.queue, { status: 'blocked', summary: 'x', blocked_reason: 'No target runtime named' });
    const failed = (await s.request({ method: 'GET', url: `/api/projects/${id}` })).json();
    expect(failed).toMatchObject({
      status: 'failed',
      assessment: { status: 'failed', error: 'the Architect could not assess it: No target runtime named' },
    });
    const retried = await post(`/api/projects/${id}/publish-retry`, undefined, s.tokens.approver);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'proposed', assessment: { status: 'pending', error: null } });
    const tasks = await db()
      .selectFrom('tasks')
      .select('status')
      .where('type', '=', 'evaluate_feasibility')
      .where('workflow_id', '=', id)
      .orderBy('id')
      .execute();
    expect(tasks.map((task) => task.status)).toEqual(['completed', 'pending']);
  });

  it('approve (here or through the generic approval route) starts building: create_project_repo is queued', async () => {
    const id = await proposed();
    const approved = await post(`/api/projects/${id}/approve`, undefined, s.tokens.approver);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'building', decisions: [{ decision: 'approved' }] });

    const other = await proposed();
    const approvalId = (await s.request({ method: 'GET', url: `/api/projects/${other}` })).json().approval_id;
    const generic = await post(`/api/approvals/${approvalId}/approve`, undefined, s.tokens.approver);
    expect(generic.statusCode, generic.body).toBe(200);
    expect((await s.request({ method: 'GET', url: `/api/projects/${other}` })).json()).toMatchObject({
      status: 'building',
      decisions: [{ decision: 'approved', by: 'api:release-bot' }],
    });
    const queued = await db()
      .selectFrom('tasks')
      .select(['type', 'workflow_id'])
      .where('type', '=', 'create_project_repo')
      .where('workflow_id', 'in', [id, other])
      .execute();
    expect(queued).toHaveLength(2);
  });
});
