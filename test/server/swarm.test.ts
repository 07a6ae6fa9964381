/**
 * @module `GET /api/discussions` and `GET /api/proposals` on both databases: newest first, the topic and status
 * filters, the bounded `recent` count, the topic list, a viewer token, no token, and bad query values (400).
 * The write routes are in `swarm-write.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RECENT_DISCUSSIONS, MAX_RECENT_DISCUSSIONS } from '../../src/server/plugins/swarm.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

const BASE = Date.UTC(2026, 10, 1, 12);

describe.each(DIALECTS)('%s: swarm routes', (dialect) => {
  const s = useTestServer(dialect);
  const db = () => s.db.handle.db;

  const post = async (topic: string, body: string, at: number, author = 'builder:builder-1') =>
    (
      await db()
        .insertInto('discussions')
        .values({ topic, author, body, created_at: at })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  const propose = async (
    title: string,
    status: 'open' | 'approved' | 'rejected',
    votes: [number, number],
    at: number,
  ) =>
    (
      await db()
        .insertInto('proposals')
        .values({
          title,
          body: `Why: **${title}**`,
          author: 'architect:architect-1',
          votes_for: votes[0],
          votes_against: votes[1],
          status,
          created_at: at,
          updated_at: at + 1000,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  describe('GET /api/discussions', () => {
    it('answers an empty list and no topics before anyone posted', async () => {
      const response = await s.request({ method: 'GET', url: '/api/discussions', token: s.tokens.viewer });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({ discussions: [], topics: [] });
    });

    it('lists messages newest first for a viewer, filters by topic, and lists the topics', async () => {
      const first = await post('testing', 'Flaky test in **cart**', BASE);
      const second = await post('architecture', 'Split the API <script>alert(1)</script>', BASE + 60_000);
      const third = await post('testing', 'Fixed by retrying the fixture', BASE + 120_000, 'tester:tester-1');

      const all = await s.request({ method: 'GET', url: '/api/discussions', token: s.tokens.viewer });
      expect(all.statusCode, all.body).toBe(200);
      const body = all.json();
      expect(body.discussions.map((d: { id: number }) => d.id)).toEqual([third, second, first]);
      expect(body.discussions[1]).toEqual({
        id: second,
        topic: 'architecture',
        author: 'builder:builder-1',
        // Stored and returned as written: the dashboard sanitizes it.
        body: 'Split the API <script>alert(1)</script>',
        author_kind: 'agent',
        reply_to: null,
        task_id: null,
        created_at: new Date(BASE + 60_000).toISOString(),
      });
      expect(body.topics).toEqual([
        { topic: 'testing', messages: 2, last_at: new Date(BASE + 120_000).toISOString() },
        { topic: 'architecture', messages: 1, last_at: new Date(BASE + 60_000).toISOString() },
      ]);

      const testing = await s.request({ method: 'GET', url: '/api/discussions?topic=testing', token: s.tokens.viewer });
      expect(testing.json().discussions.map((d: { id: number }) => d.id)).toEqual([third, first]);
      // The topic list stays whole under a filter, so the page can offer the others.
      expect(testing.json().topics).toHaveLength(2);

      const recent = await s.request({ method: 'GET', url: '/api/discussions?recent=2' });
      expect(recent.json().discussions.map((d: { id: number }) => d.id)).toEqual([third, second]);

      const none = await s.request({ method: 'GET', url: '/api/discussions?topic=nothing-here' });
      expect(none.json().discussions).toEqual([]);
    });

    it(`returns ${DEFAULT_RECENT_DISCUSSIONS} messages by default`, async () => {
      await db()
        .insertInto('discussions')
        .values(
          Array.from({ length: DEFAULT_RECENT_DISCUSSIONS + 5 }, (_, i) => ({
            topic: 'bulk',
            author: 'pm:pm-1',
            body: `message ${i}`,
            created_at: BASE + 1_000_000 + i,
          })),
        )
        .execute();
      const response = await s.request({ method: 'GET', url: '/api/discussions' });
      const listed = response.json().discussions;
      expect(listed).toHaveLength(DEFAULT_RECENT_DISCUSSIONS);
      expect(listed[0].body).toBe(`message ${DEFAULT_RECENT_DISCUSSIONS + 4}`);
    });

    it.each([
      ['recent=0', 'recent=0', 'recent'],
      ['recent above the maximum', `recent=${MAX_RECENT_DISCUSSIONS + 1}`, 'recent'],
      ['recent not a number', 'recent=lots', 'recent'],
      ['recent fractional', 'recent=2.5', 'recent'],
      ['an empty topic', 'topic=', 'topic'],
      ['a topic too long', `topic=${'x'.repeat(201)}`, 'topic'],
      ['an unknown parameter', 'sort=asc', 'sort'],
    ])('answers 400 VALIDATION_FAILED to %s, naming the parameter', async (_what, query, named) => {
      const response = await s.request({ method: 'GET', url: `/api/discussions?${query}`, token: s.tokens.viewer });
      expect(response.statusCode, response.body).toBe(400);
      expect(errorOf(response).code).toBe('VALIDATION_FAILED');
      expect(errorOf(response).message).toContain(named);
    });

    it('needs a token', async () => {
      const response = await s.request({ method: 'GET', url: '/api/discussions', token: null });
      expect(response.statusCode).toBe(401);
      expect(errorOf(response).code).toBe('UNAUTHORIZED');
    });
  });

  describe('GET /api/proposals', () => {
    it('lists proposals newest first with votes and status, and filters by status', async () => {
      const empty = await s.request({ method: 'GET', url: '/api/proposals', token: s.tokens.viewer });
      expect(empty.json()).toEqual({ proposals: [] });

      const a = await propose('Adopt pnpm', 'open', [3, 1], BASE);
      const b = await propose('Drop IE11', 'approved', [5, 0], BASE + 1000);
      const c = await propose('Rewrite in Rust', 'rejected', [1, 6], BASE + 2000);

      const all = await s.request({ method: 'GET', url: '/api/proposals', token: s.tokens.viewer });
      expect(all.statusCode, all.body).toBe(200);
      const proposals = all.json().proposals;
      expect(proposals.map((p: { id: number }) => p.id)).toEqual([c, b, a]);
      expect(proposals[2]).toEqual({
        id: a,
        title: 'Adopt pnpm',
        body: 'Why: **Adopt pnpm**',
        author: 'architect:architect-1',
        votes_for: 3,
        votes_against: 1,
        votes: [],
        kind: 'story',
        repo_id: null,
        source_task_id: null,
        status: 'open',
        decided_by: null,
        decided_at: null,
        reason: null,
        workflow_id: null,
        task_id: null,
        created_at: new Date(BASE).toISOString(),
        updated_at: new Date(BASE + 1000).toISOString(),
      });

      for (const [status, id] of [
        ['open', a],
        ['approved', b],
        ['rejected', c],
      ] as const) {
        const filtered = await s.request({ method: 'GET', url: `/api/proposals?status=${status}` });
        expect(filtered.json().proposals.map((p: { id: number }) => p.id)).toEqual([id]);
      }
    });

    it.each([
      ['an unknown status', 'status=maybe'],
      ['an empty status', 'status='],
      ['an unknown parameter', 'approved=1'],
    ])('answers 400 VALIDATION_FAILED to %s', async (_what, query) => {
      const response = await s.request({ method: 'GET', url: `/api/proposals?${query}`, token: s.tokens.viewer });
      expect(response.statusCode, response.body).toBe(400);
      expect(errorOf(response).code).toBe('VALIDATION_FAILED');
    });

    it('needs a token', async () => {
      expect((await s.request({ method: 'GET', url: '/api/proposals', token: null })).statusCode).toBe(401);
    });
  });

  it('documents both routes and what `recent` means in /api/openapi.json', async () => {
    const doc = (await s.request({ method: 'GET', url: '/api/openapi.json', token: null })).json();
    const parameters = doc.paths['/api/discussions'].get.parameters as Array<{
      name: string;
      description?: string;
      schema: { maximum?: number; default?: number };
    }>;
    const recent = parameters.find((p) => p.name === 'recent');
    expect(recent?.description).toMatch(/newest messages/);
    // Sent as canonical decimal text: documented as a pattern with its bounds; the default is in the description.
    expect(recent?.schema).toMatchObject({ minimum: 1, maximum: MAX_RECENT_DISCUSSIONS });
    expect(recent?.description).toContain(`default ${DEFAULT_RECENT_DISCUSSIONS}`);
    expect(doc.paths['/api/proposals'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['status']);
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Discussion', 'Proposal']));
  });
});
