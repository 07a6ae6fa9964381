/**
 * @module The swarm's memory in a REAL Claude Code session (the binary bundled with the Agent SDK), sandboxed in
 * bubblewrap, through Auto-Dev's runtime; only the model is a stand-in (the scripted Messages API). The reviewer
 * searches memory with its `search_memory` MCP tool — the sandboxed MCP server reaches the runner's memory channel over
 * the session's unix socket — gets the note of its repository it needs (and not another repository's), leaves a note
 * with `add_memory`, and submits. Its prompt already quoted the most relevant note as data. One engine (the runtime's
 * SQL runs on both in the memory and runtime tests).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { addMemoryNote } from '../../src/memory/memory-notes.js';
import { MEMORY_CHANNEL_FILE, MEMORY_SOCKET_FILE } from '../../src/memory/memory-channel.js';
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

const NEEDED = 'Checkout tests only pass with STRIPE_MODE=mock; the live key is never in CI.';
const OTHER_REPO = 'Depot secret: the blog migration runs on Fridays.';
const LEFT = 'Reviewed with the Stripe mock note in mind.';
const REVIEW = { status: 'done', summary: 'Looked at the checkout change; fine.', verdict: 'approve', findings: [] };

function reviewerScript(): AgentStep[] {
  return [
    {
      mcp: { tool: 'search_memory', input: { query: 'checkout stripe tests' } },
      expect: { ok: true, outputIncludes: 'STRIPE_MODE=mock' },
    },
    // Another repository's note is not reachable, whatever the query.
    {
      mcp: { tool: 'search_memory', input: { query: 'depot blog migration fridays' } },
      expect: { outputIncludes: 'no note' },
    },
    {
      mcp: { tool: 'add_memory', input: { text: LEFT } },
      expect: { ok: true, outputIncludes: 'saved to the swarm memory' },
    },
    { mcp: { tool: 'submit_result', input: REVIEW }, expect: { outputIncludes: 'result recorded' } },
    { say: 'Reviewed.' },
  ];
}

const agents = new ScriptedAgents((_prompt, facts) => {
  if (facts.taskType === 'review_mr') return reviewerScript();
  throw new Error(`no scripted agent for task type ${facts.taskType ?? 'unknown'}`);
});

let standIns: ModelStandIns;
beforeAll(async () => {
  standIns = await startModelStandIns(agents);
});
afterAll(async () => {
  await standIns?.close();
});

describe.each(ONE_DIALECT)('%s: memory in a real Claude Code session (scripted model stand-in)', (dialect) => {
  const t = useTestDatabase(dialect);
  let runtime: RealCliRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it('search_memory over the session channel returns the note it needs; add_memory saves one for its repository', async () => {
    runtime = realCliRuntime(t.handle, standIns, 'claude');
    const shop = await registerRepo(t.handle.db, { name: 'shop', location: makeGitRepo(runtime.root, 'shop').path });
    const depot = await registerRepo(t.handle.db, { name: 'depot', location: makeGitRepo(runtime.root, 'depot').path });
    const now = Date.now();
    await addMemoryNote(t.handle.db, { repoId: shop, source: 'review_lesson', text: NEEDED, createdBy: 'test', now });
    await addMemoryNote(t.handle.db, { repoId: depot, source: 'agent_note', text: OTHER_REPO, createdBy: 'test', now });
    const task = await runtime.queue.enqueue({
      type: 'review_mr',
      payload: { title: 'Checkout: Stripe tests', branch: 'main', target_branch: 'main' },
      repoId: shop,
      createdBy: 'test',
    });

    const { task: done, errors } = await runOneAttempt(runtime, 'reviewer', task.id);

    const sessions = await t.handle.db.selectFrom('sessions').selectAll().where('task_id', '=', task.id).execute();
    const cliSession = sessions[0]?.provider_session_id ?? null;
    const played = agents.session('claude', cliSession);
    const diagnosis = JSON.stringify({
      error: done.error,
      errors: errors.map(String),
      failures: agents.failuresOf('claude', cliSession),
    });
    expect(errors).toEqual([]);
    expect(agents.failuresOf('claude', cliSession), diagnosis).toEqual([]);
    expect(done.status, diagnosis).toBe('completed');
    // The prompt quoted the relevant note as data, with its source.
    expect(played?.prompt).toMatch(/label="memory note \d+ \(review_lesson, repository, /);
    expect(played?.prompt).toContain(NEEDED);
    expect(played?.prompt).not.toContain(OTHER_REPO);
    // The agent's note is stored for the task's repository, by the agent.
    const notes = await t.handle.db.selectFrom('memory_notes').selectAll().where('text', '=', LEFT).execute();
    expect(notes).toEqual([
      expect.objectContaining({ repo_id: shop, source: 'agent_note', subject: `task:${task.id}` }),
    ]);
    // The token never reached the transcript, and the session's socket is gone.
    const transcript = await t.handle.db
      .selectFrom('session_events')
      .select('data')
      .where('session_id', '=', sessions[0]!.id)
      .execute();
    expect(JSON.stringify(transcript)).not.toMatch(/"token"/);
    const sessionDir = path.join(runtime.dataDir, 'sessions', String(sessions[0]!.id));
    expect(fs.existsSync(path.join(sessionDir, MEMORY_CHANNEL_FILE))).toBe(true);
    expect(fs.existsSync(path.join(sessionDir, MEMORY_SOCKET_FILE))).toBe(false);
  });
});
