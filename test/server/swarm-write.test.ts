/**
 * @module The swarm's write routes on both databases: posting threads and replies as a human (author = the token's
 * name), proposing, voting once per voter, approving (a story starts on a real git repository, linked both ways; a
 * product proposal queues build_product), rejecting with a kept reason, the audit events, `GET /api/swarm/status`,
 * and refusals (viewer 403, bad input 400, unknown ids 404, decided 409) that write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: swarm write routes', (dialect) => {
  const s = useTestServer(dialect);
  const db = () => s.db.handle.db;
  let repo: TestRepo;
  beforeAll(async () => {
    repo = await makeRepo();
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  const addRepo = async () => {
    const added = await s.request({ method: 'POST', url: '/api/repos', payload: { path: repo.repo, name: 'sample' } });
    expect(added.statusCode, added.body).toBe(201);
    return (added.json() as { id: number }).id;
  };
  const events = async (kind: string) =>
    db().selectFrom('events').selectAll().where('kind', '=', kind).orderBy('id').execute();

  it('posts a thread and a reply as the token, refuses a reply to nothing, and shows threads', async () => {
    const first = await s.request({
      method: 'POST',
      url: '/api/discussions',
      token: s.tokens.approver,
      payload: { topic: 'repo:sample', body: 'Should we drop Node 18?' },
    });
    expect(first.statusCode, first.body).toBe(201);
    const thread = first.json();
    expect(thread).toMatchObject({
      topic: 'repo:sample',
      author: 'api:release-bot',
      author_kind: 'human',
      reply_to: null,
    });

    const reply = await s.request({
      method: 'POST',
      url: '/api/discussions',
      token: s.tokens.approver,
      payload: { reply_to: thread.id, body: 'Yes, it is end of life' },
    });
    expect(reply.statusCode, reply.body).toBe(201);
    expect(reply.json()).toMatchObject({ topic: 'repo:sample', reply_to: thread.id });

    const listed = await s.request({
      method: 'GET',
      url: '/api/discussions?topic=repo:sample',
      token: s.tokens.viewer,
    });
    expect(listed.json().discussions.map((d: { reply_to: number | null }) => d.reply_to)).toEqual([thread.id, null]);
    expect((await events('discussion.posted')).map((e) => e.actor)).toEqual(['api:release-bot', 'api:release-bot']);

    const before = await s.rowCounts();
    for (const [payload, status, code] of [
      [{ reply_to: 999_999, body: 'hello?' }, 404, 'DISCUSSION_NOT_FOUND'],
      [{ reply_to: thread.id, topic: 'other', body: 'off topic' }, 400, 'VALIDATION_FAILED'],
      [{ body: 'no topic' }, 400, 'VALIDATION_FAILED'],
      [{ topic: 'x', body: '   ' }, 400, 'VALIDATION_FAILED'],
      [{ topic: 'x'.repeat(101), body: 'long topic' }, 400, 'VALIDATION_FAILED'],
      [{ topic: 'x', body: 'a\u0000b' }, 400, 'VALIDATION_FAILED'],
    ] as const) {
      const refused = await s.request({ method: 'POST', url: '/api/discussions', payload });
      expect(refused.statusCode, JSON.stringify(payload)).toBe(status);
      expect(errorOf(refused).code).toBe(code);
    }
    const viewer = await s.request({
      method: 'POST',
      url: '/api/discussions',
      token: s.tokens.viewer,
      payload: { topic: 'x', body: 'viewers read' },
    });
    expect(viewer.statusCode).toBe(403);
    expect(await s.rowCounts()).toEqual(before);
  });

  it('proposes, takes one vote per voter, and approval starts a story linked both ways', async () => {
    const repoId = await addRepo();
    const created = await s.request({
      method: 'POST',
      url: '/api/proposals',
      token: s.tokens.approver,
      payload: { title: 'Add a sum helper', body: 'Users keep asking for it', repo: 'sample' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const proposal = created.json();
    expect(proposal).toMatchObject({ status: 'open', kind: 'story', repo_id: repoId, author: 'api:release-bot' });

    const up = await s.request({
      method: 'POST',
      url: `/api/proposals/${proposal.id}/vote`,
      token: s.tokens.approver,
      payload: { vote: 'up', reason: 'cheap and useful' },
    });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toMatchObject({
      votes_for: 1,
      votes_against: 0,
      votes: [{ voter: 'api:release-bot', vote: 'up', reason: 'cheap and useful' }],
    });
    const again = await s.request({
      method: 'POST',
      url: `/api/proposals/${proposal.id}/vote`,
      token: s.tokens.approver,
      payload: { vote: 'down' },
    });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('ALREADY_VOTED');
    const admin = await s.request({
      method: 'POST',
      url: `/api/proposals/${proposal.id}/vote`,
      payload: { vote: 'down' },
    });
    expect(admin.json()).toMatchObject({ votes_for: 1, votes_against: 1 });

    const approved = await s.request({
      method: 'POST',
      url: `/api/proposals/${proposal.id}/approve`,
      token: s.tokens.approver,
      payload: { reason: 'go' },
    });
    expect(approved.statusCode, approved.body).toBe(200);
    const decided = approved.json();
    expect(decided).toMatchObject({ status: 'approved', decided_by: 'api:release-bot', reason: 'go' });
    expect(decided.workflow_id).toEqual(expect.any(Number));

    const story = await s.request({ method: 'GET', url: `/api/stories/${decided.workflow_id}` });
    expect(story.json()).toMatchObject({
      title: 'Add a sum helper',
      proposal_id: proposal.id,
      repo_id: repoId,
      tasks: [expect.objectContaining({ type: 'create_user_story', status: 'pending' })],
    });
    const [event] = await events('proposal.approved');
    expect(event).toMatchObject({ actor: 'api:release-bot', subject_id: String(proposal.id) });
    expect(JSON.parse(event!.data)).toEqual({ reason: 'go', workflow_id: decided.workflow_id });

    const before = await s.rowCounts();
    for (const action of ['approve', 'reject'] as const) {
      const late = await s.request({
        method: 'POST',
        url: `/api/proposals/${proposal.id}/${action}`,
        payload: { reason: 'again' },
      });
      expect(late.statusCode).toBe(409);
      expect(errorOf(late).code).toBe('PROPOSAL_ALREADY_DECIDED');
    }
    const lateVote = await s.request({
      method: 'POST',
      url: `/api/proposals/${proposal.id}/vote`,
      token: s.tokens.viewer,
      payload: { vote: 'up' },
    });
    expect(lateVote.statusCode).toBe(403);
    expect(await s.rowCounts()).toEqual(before);
  });

  it('a rejection needs a reason and keeps it; a product proposal queues build_product', async () => {
    const a = (
      await s.request({ method: 'POST', url: '/api/proposals', payload: { title: 'Rewrite in Rust', body: 'Speed' } })
    ).json();
    const before = await s.rowCounts();
    const noReason = await s.request({ method: 'POST', url: `/api/proposals/${a.id}/reject` });
    expect(noReason.statusCode).toBe(400);
    expect(errorOf(noReason).code).toBe('REASON_REQUIRED');
    const noRepo = await s.request({ method: 'POST', url: `/api/proposals/${a.id}/approve` });
    expect(noRepo.statusCode).toBe(400);
    expect(errorOf(noRepo).message).toContain('names no repository');
    const unknown = await s.request({ method: 'POST', url: '/api/proposals/424242/vote', payload: { vote: 'up' } });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('PROPOSAL_NOT_FOUND');
    expect(await s.rowCounts()).toEqual(before);

    const rejected = await s.request({
      method: 'POST',
      url: `/api/proposals/${a.id}/reject`,
      token: s.tokens.approver,
      payload: { reason: 'Not worth it right now' },
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', reason: 'Not worth it right now', workflow_id: null });
    const listed = await s.request({ method: 'GET', url: '/api/proposals?status=rejected' });
    expect(listed.json().proposals[0]).toMatchObject({ id: a.id, reason: 'Not worth it right now' });

    const product = (
      await s.request({
        method: 'POST',
        url: '/api/proposals',
        payload: { title: 'Invoice kit', body: 'PDF invoices for freelancers', kind: 'product' },
      })
    ).json();
    const approved = (await s.request({ method: 'POST', url: `/api/proposals/${product.id}/approve` })).json();
    expect(approved.task_id).toEqual(expect.any(Number));
    const task = await s.request({ method: 'GET', url: `/api/tasks/${approved.task_id}` });
    expect(task.json()).toMatchObject({
      type: 'build_product',
      payload: { idea: 'Invoice kit', details: 'PDF invoices for freelancers', proposal_id: product.id },
    });
  });

  it('GET /api/swarm/status shows queue, spend, limits, open approvals and proposals, the latest message', async () => {
    const now = Date.now();
    await db()
      .insertInto('provider_limits')
      .values({ provider: 'claude', limited_until: now + 3_600_000, reason: 'rate limit', updated_at: now })
      .execute();
    await s.request({ method: 'POST', url: '/api/proposals', payload: { title: 'Open one', body: 'b' } });
    await s.request({ method: 'POST', url: '/api/discussions', payload: { topic: 'general', body: 'hello swarm' } });
    const response = await s.request({ method: 'GET', url: '/api/swarm/status', token: s.tokens.viewer });
    expect(response.statusCode, response.body).toBe(200);
    const status = response.json();
    expect(status).toMatchObject({
      agents: [],
      queue: { pending: 0, in_progress: 0, completed: 0, failed: 0, cancelled: 0 },
      today: { tokens: 0, cost_usd: 0 },
      rate_limited: [{ provider: 'claude', until: new Date(now + 3_600_000).toISOString() }],
      open_approvals: [],
      open_proposals: [expect.objectContaining({ title: 'Open one', votes_for: 0 })],
      latest_discussion: expect.objectContaining({ topic: 'general', body: 'hello swarm' }),
    });
  });
});
