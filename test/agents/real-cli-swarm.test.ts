/**
 * @module An agent talks to the swarm through its MCP tools: the REAL Claude Code CLI, sandboxed, through Auto-Dev's
 * runtime and the real `autodev mcp` server; only the model is a stand-in (scripted-agent.ts) playing a reviewer
 * that finds its repository's discussion quoted in its prompt as data, replies to a message there, proposes a story,
 * votes on an open proposal and submits its review. What it asked for is applied when its task completes: the reply
 * in its thread, the proposal on the task's repository, the vote (voter = its instance id), each with its event.
 * One database (the SQL paths are covered on both by apply-outbox-swarm.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScriptedAgents, type AgentStep } from '../../src/demo/scripted-agent.js';
import { makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import {
  realCliRuntime,
  runOneAttempt,
  startModelStandIns,
  type ModelStandIns,
  type RealCliRuntime,
} from '../support/real-cli-sessions.js';

vi.setConfig({ testTimeout: 150_000 });

const QUESTION = 'Should the CSV export stream rows instead of building one string?';
const REVIEW = {
  status: 'done',
  summary: 'Looked at the discussion; nothing to change.',
  verdict: 'approve',
  findings: [],
};

/** Ids the test fills in before the session starts; the script reads them when the stand-in plays it. */
const ids = { thread: 0, proposal: 0 };

function swarmScript(prompt: string): AgentStep[] {
  // The repository's discussion is in the prompt, fenced as data (render-prompt.ts).
  if (!/<untrusted-data id="[0-9a-f]+" label="discussion 'repo:shop'/.test(prompt) || !prompt.includes(QUESTION)) {
    throw new Error('the prompt does not quote the repository discussion');
  }
  return [
    { mcp: { tool: 'read_task', input: {} }, expect: { outputIncludes: '"type": "review_mr"' } },
    {
      mcp: {
        tool: 'post_discussion',
        input: () => ({
          topic: 'repo:shop',
          body: 'Yes: stream them, the orders table is large.',
          reply_to: ids.thread,
        }),
      },
      expect: { outputIncludes: 'queued' },
    },
    {
      mcp: {
        tool: 'propose',
        input: { title: 'Stream the CSV export', body: 'Large exports time out today.', proposal_kind: 'story' },
      },
      expect: { outputIncludes: 'queued' },
    },
    {
      mcp: { tool: 'vote', input: () => ({ proposal_id: ids.proposal, vote: 'up', reason: 'Asked for twice.' }) },
      expect: { outputIncludes: 'queued' },
    },
    { mcp: { tool: 'submit_result', input: REVIEW }, expect: { outputIncludes: 'result recorded' } },
    { say: 'Done.' },
  ];
}

const agents = new ScriptedAgents((prompt, facts) => {
  if (facts.taskType === 'review_mr') return swarmScript(prompt);
  throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
});

let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
});

describe.each(ONE_DIALECT)('%s: an agent in the swarm (real Claude Code CLI, stand-in model)', (dialect) => {
  const t = useTestDatabase(dialect);
  let runtime: RealCliRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it('reads its repository discussion as data, replies, proposes and votes through MCP; applied on completion', async () => {
    runtime = realCliRuntime(t.handle, standIns, 'claude');
    const db = t.handle.db;
    const repo = makeGitRepo(runtime.root, 'shop');
    const repoId = await registerRepo(db, { name: 'shop', location: repo.path });
    const now = Date.now();
    ids.thread = (
      await db
        .insertInto('discussions')
        .values({ topic: 'repo:shop', author: 'cli:ann', author_kind: 'human', body: QUESTION, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    ids.proposal = (
      await db
        .insertInto('proposals')
        .values({ title: 'Add CSV', body: 'b', author: 'pm@h:1#0', status: 'open', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    const task = await runtime.queue.enqueue({
      type: 'review_mr',
      payload: { title: 'CSV export', branch: 'main', target_branch: 'main' },
      repoId,
      createdBy: 'test',
    });

    const { task: done, errors } = await runOneAttempt(runtime, 'reviewer', task.id);
    expect(errors).toEqual([]);
    expect(done.status, String(done.error)).toBe('completed');
    const outbox = (done.result as { outbox: Record<string, unknown[]> }).outbox;
    expect(outbox.rejected).toEqual([]);

    const worker = 'reviewer-real-cli-worker-1';
    const reply = await db.selectFrom('discussions').selectAll().where('reply_to', '=', ids.thread).execute();
    expect(reply).toEqual([
      expect.objectContaining({ topic: 'repo:shop', author: worker, author_kind: 'agent', task_id: task.id }),
    ]);
    const proposed = await db
      .selectFrom('proposals')
      .selectAll()
      .where('title', '=', 'Stream the CSV export')
      .executeTakeFirstOrThrow();
    expect(proposed).toMatchObject({ status: 'open', kind: 'story', repo_id: repoId, source_task_id: task.id });
    expect(await db.selectFrom('proposal_votes').select(['proposal_id', 'voter', 'vote']).execute()).toEqual([
      { proposal_id: ids.proposal, voter: worker, vote: 'up' },
    ]);
    const kinds = await db.selectFrom('events').select('kind').where('actor', '=', worker).orderBy('id').execute();
    expect(kinds.map((k) => k.kind)).toEqual(
      expect.arrayContaining(['discussion.posted', 'proposal.created', 'proposal.voted']),
    );
  });
});
