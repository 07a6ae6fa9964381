/**
 * @module The session outbox's swarm entries applied as the runtime applies them (inside the completing
 * transaction), on both databases: a reply, a proposal on the task's repository, votes. Each entry is validated again
 * (the agent can write the outbox file itself): a reply to nothing, a second vote by the same agent, a vote on a
 * decided proposal are refused with their reason while the rest of the outbox and the transaction go through.
 */
import { describe, expect, it } from 'vitest';
import { applyOutbox } from '../../src/agents/apply-outbox.js';
import type { OutboxEntry } from '../../src/mcp/session-files.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const AGENT = 'architect@host:42#0';

describe.each(DIALECTS)('%s: swarm entries of the session outbox', (dialect) => {
  const t = useTestDatabase(dialect);

  it('posts replies, opens proposals, votes once, and refuses what does not hold with a reason', async () => {
    const queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    try {
      const db = t.handle.db;
      const now = Date.now();
      const repo = await db
        .insertInto('repositories')
        .values({
          name: 'shop',
          forge: 'local',
          location: '/tmp/shop',
          default_branch: 'main',
          settings: '{}',
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const task = await queue.enqueue({ type: 'write_spec', repoId: repo.id, createdBy: 'test' });
      const thread = await db
        .insertInto('discussions')
        .values({ topic: 'repo:shop', author: 'cli:ann', author_kind: 'human', body: 'CSV?', created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const decided = await db
        .insertInto('proposals')
        .values({ title: 'Old', body: 'b', author: 'x', status: 'rejected', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const open = await db
        .insertInto('proposals')
        .values({ title: 'Open', body: 'b', author: 'x', status: 'open', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();

      const at = new Date(now).toISOString();
      const entries: OutboxEntry[] = [
        { seq: 1, at, kind: 'post_discussion', topic: 'repo:shop', body: 'Yes, CSV first.', reply_to: thread.id },
        { seq: 2, at, kind: 'post_discussion', topic: 'repo:shop', body: 'to nothing', reply_to: 999_999 },
        { seq: 3, at, kind: 'propose', title: 'Add CSV export', body: 'Asked twice', proposal_kind: 'story' },
        { seq: 4, at, kind: 'vote', proposal_id: open.id, vote: 'up', reason: 'worth it' },
        { seq: 5, at, kind: 'vote', proposal_id: open.id, vote: 'down' },
        { seq: 6, at, kind: 'vote', proposal_id: decided.id, vote: 'up' },
        { seq: 7, at, kind: 'vote', proposal_id: 888_888, vote: 'up' },
      ];
      const applied = await db
        .transaction()
        .execute((tx) => applyOutbox(tx, queue, entries, { task, author: AGENT, now }));

      expect(applied.discussionIds).toHaveLength(1);
      expect(applied.proposalIds).toHaveLength(1);
      expect(applied.votedProposalIds).toEqual([open.id]);
      expect(applied.rejected).toEqual([
        { seq: 2, reason: expect.stringContaining('no discussion message has id 999999') },
        { seq: 5, reason: expect.stringContaining(`${AGENT} already voted on proposal ${open.id}`) },
        { seq: 6, reason: expect.stringContaining('already rejected') },
        { seq: 7, reason: expect.stringContaining('no proposal has id 888888') },
      ]);

      const reply = await db
        .selectFrom('discussions')
        .selectAll()
        .where('id', '=', applied.discussionIds[0]!)
        .executeTakeFirstOrThrow();
      expect(reply).toMatchObject({ reply_to: thread.id, author: AGENT, author_kind: 'agent', task_id: task.id });
      const proposal = await db
        .selectFrom('proposals')
        .selectAll()
        .where('id', '=', applied.proposalIds[0]!)
        .executeTakeFirstOrThrow();
      expect(proposal).toMatchObject({
        title: 'Add CSV export',
        kind: 'story',
        repo_id: repo.id,
        source_task_id: task.id,
        author: AGENT,
        status: 'open',
      });
      expect(
        await db.selectFrom('proposals').select(['votes_for', 'votes_against']).where('id', '=', open.id).execute(),
      ).toEqual([{ votes_for: 1, votes_against: 0 }]);
      const kinds = await db.selectFrom('events').select('kind').where('actor', '=', AGENT).orderBy('id').execute();
      expect(kinds.map((e) => e.kind)).toEqual(['discussion.posted', 'proposal.created', 'proposal.voted']);
    } finally {
      await queue.close();
    }
  });
});
