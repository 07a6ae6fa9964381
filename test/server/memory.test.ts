/**
 * @module `GET/POST/DELETE /api/memory` on both engines: list and search by repository or global, a human's note,
 * forgetting, a human's rejection of an approval becoming a note, and refusals (viewer writes 403, unknown repository
 * or id 404, bad input 400) that change nothing.
 */
import { describe, expect, it } from 'vitest';
import { insertRepo } from '../memory/memory-fixtures.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: memory routes', (dialect) => {
  const s = useTestServer(dialect);
  const count = async () => (await s.db.handle.db.selectFrom('memory_notes').select('id').execute()).length;

  it('adds notes for a repository and globally, lists and searches them by scope, and forgets one', async () => {
    await insertRepo(s.db.handle.db, 'shop');
    await insertRepo(s.db.handle.db, 'blog');
    const add = async (text: string, repo: string | null) => {
      const response = await s.request({
        method: 'POST',
        url: '/api/memory',
        token: s.tokens.approver,
        payload: { text, repo },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { id: number; source: string; created_by: string };
    };
    const shop = await add('Shop checkout tests need the Stripe mock', 'shop');
    const global = await add('All services log in UTC', null);
    await add('Blog checkout is static', 'blog');
    expect(shop).toMatchObject({ source: 'human_note', created_by: 'api:release-bot' });

    const list = await s.request({ method: 'GET', url: '/api/memory?repo=shop', token: s.tokens.viewer });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().notes.map((n: { id: number }) => n.id)).toEqual([global.id, shop.id]);
    const all = await s.request({ method: 'GET', url: '/api/memory', token: s.tokens.viewer });
    expect(all.json().notes).toHaveLength(3);

    const search = await s.request({
      method: 'GET',
      url: '/api/memory?repo=shop&q=checkout%20stripe',
      token: s.tokens.viewer,
    });
    expect(search.statusCode, search.body).toBe(200);
    expect(search.json()).toMatchObject({ search: 'full-text', notes: [{ id: shop.id, score: expect.any(Number) }] });
    expect(search.json().notes).toHaveLength(1);

    const gone = await s.request({ method: 'DELETE', url: `/api/memory/${shop.id}`, token: s.tokens.approver });
    expect(gone.statusCode, gone.body).toBe(200);
    const again = await s.request({ method: 'DELETE', url: `/api/memory/${shop.id}`, token: s.tokens.approver });
    expect([again.statusCode, errorOf(again).code]).toEqual([404, 'MEMORY_NOTE_NOT_FOUND']);
  });

  it('refuses a viewer writing, an unknown repository, bad input; nothing is stored', async () => {
    const cases = [
      { method: 'POST' as const, token: s.tokens.viewer, payload: { text: 'x' }, status: 403 },
      { method: 'POST' as const, token: s.tokens.approver, payload: { text: 'x', repo: 'nope' }, status: 404 },
      { method: 'POST' as const, token: s.tokens.approver, payload: { text: '  ' }, status: 400 },
      { method: 'POST' as const, token: s.tokens.approver, payload: { text: 'a\u0000b' }, status: 400 },
      { method: 'POST' as const, token: s.tokens.approver, payload: { text: 'x'.repeat(4001) }, status: 400 },
      {
        method: 'POST' as const,
        token: s.tokens.approver,
        payload: { text: 'x', source: 'review_lesson' },
        status: 400,
      },
    ];
    for (const c of cases) {
      const response = await s.request({ method: c.method, url: '/api/memory', token: c.token, payload: c.payload });
      expect(response.statusCode, JSON.stringify(c.payload)).toBe(c.status);
    }
    for (const url of [
      '/api/memory?limit=0',
      '/api/memory?limit=1e1',
      '/api/memory?q=',
      '/api/memory?source=gossip',
      '/api/memory?x=1',
    ]) {
      expect((await s.request({ method: 'GET', url, token: s.tokens.viewer })).statusCode, url).toBe(400);
    }
    expect((await s.request({ method: 'GET', url: '/api/memory?repo=nope', token: s.tokens.viewer })).statusCode).toBe(
      404,
    );
    expect((await s.request({ method: 'DELETE', url: '/api/memory/1', token: s.tokens.viewer })).statusCode).toBe(403);
    expect((await s.request({ method: 'DELETE', url: '/api/memory/01', token: s.tokens.approver })).statusCode).toBe(
      400,
    );
    expect((await s.request({ method: 'GET', url: '/api/memory', token: null })).statusCode).toBe(401);
    expect(await count()).toBe(0);
  });

  it("a human's rejection reason becomes a note of the workflow's repository", async () => {
    const db = s.db.handle.db;
    const repoId = await insertRepo(db, 'shop');
    const now = Date.now();
    const workflow = await db
      .insertInto('workflows')
      .values({
        kind: 'story',
        status: 'waiting_for_human',
        stage: 'spec_approval',
        title: 'Login',
        body: '',
        repo_id: repoId,
        state: '{}',
        created_by: 'cli',
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // A publish approval: deciding it does not move the story's steps, only records the decision.
    const approval = await db
      .insertInto('approvals')
      .values({
        kind: 'publish',
        status: 'pending',
        subject_type: 'workflow',
        subject_id: String(workflow.id),
        title: 'Publish v2',
        body: 'Release notes',
        workflow_id: Number(workflow.id),
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const rejected = await s.request({
      method: 'POST',
      url: `/api/approvals/${approval.id}/reject`,
      token: s.tokens.approver,
      payload: { reason: 'The changelog misses the breaking API change' },
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    const found = await s.request({ method: 'GET', url: '/api/memory?repo=shop&q=changelog', token: s.tokens.viewer });
    expect(found.json().notes).toEqual([
      expect.objectContaining({
        repo_id: repoId,
        source: 'human_rejection',
        subject: `approval:${approval.id}`,
        created_by: 'api:release-bot',
        text: 'A human rejected the publish "Publish v2": The changelog misses the breaking API change',
      }),
    ]);
  });
});
