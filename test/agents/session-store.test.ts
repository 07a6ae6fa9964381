/**
 * @module Session rows on both databases: a lost attempt's session is closed as aborted with its spend so far and
 * its CLI conversation id (from its transcript), and a retry that cannot resume gets the end of the last transcript.
 */
import { describe, expect, it } from 'vitest';
import {
  abortOrphanedSessions,
  appendTranscript,
  lastProviderSession,
  startSession,
  summarizeLastTranscript,
} from '../../src/agents/session-store.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

describe.each(DIALECTS)('%s: session store', (dialect) => {
  const t = useTestDatabase(dialect);

  async function taskWithSession() {
    const queue = new TaskQueue(t.handle);
    const task = await queue.enqueue({ type: 'implement_feature', payload: { title: 'x' }, createdBy: 'test' });
    const sessionId = await startSession(t.handle.db, {
      taskId: task.id,
      role: 'builder',
      agentInstanceId: 'builder-1',
      provider: 'claude',
      model: 'claude-sonnet-4-5',
      now: 1_000,
    });
    return { task, sessionId };
  }

  it('a lost session is closed as aborted with the tokens and cost of its last usage event and its conversation id', async () => {
    const { task, sessionId } = await taskWithSession();
    const usage = (input: number, output: number, cost: number) => ({
      input_tokens: input,
      output_tokens: output,
      cache_read_tokens: 5,
      cache_creation_tokens: 7,
      cost_usd: cost,
    });
    await appendTranscript(t.handle.db, sessionId, [
      { seq: 0, kind: 'session_started', data: { provider_session_id: 'conv-1234-abcd', model: null }, at: 1_001 },
      { seq: 1, kind: 'usage', data: usage(100, 10, 0.01), at: 1_002 },
      { seq: 2, kind: 'text', data: { text: 'working' }, at: 1_003 },
      { seq: 3, kind: 'usage', data: usage(400, 40, 0.05), at: 1_004 },
    ]);

    expect(await abortOrphanedSessions(t.handle.db, task.id, 5_000)).toEqual([sessionId]);

    const row = await t.handle.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
    expect(row).toMatchObject({
      status: 'aborted',
      tokens_in: 400,
      tokens_out: 40,
      tokens_cache: 12,
      cost_usd: 0.05,
      finished_at: 5_000,
      provider_session_id: 'conv-1234-abcd',
    });
    expect(await lastProviderSession(t.handle.db, task.id, 'claude')).toEqual({
      sessionId,
      providerSessionId: 'conv-1234-abcd',
    });
    // Closed once: a second pass finds nothing running.
    expect(await abortOrphanedSessions(t.handle.db, task.id, 6_000)).toEqual([]);
  });

  it('the end of the last transcript reads as lines, skipping usage noise, before a given session', async () => {
    const { task, sessionId } = await taskWithSession();
    await appendTranscript(t.handle.db, sessionId, [
      { seq: 0, kind: 'text', data: { text: 'I will add the export.' }, at: 1 },
      { seq: 1, kind: 'tool_call', data: { id: 'a', name: 'Bash', input: { command: 'npm test' } }, at: 2 },
      { seq: 2, kind: 'tool_result', data: { id: 'a', output: '1 failing', is_error: true }, at: 3 },
      { seq: 3, kind: 'usage', data: { input_tokens: 1 }, at: 4 },
    ]);
    const summary = await summarizeLastTranscript(t.handle.db, task.id);
    expect(summary.split('\n')).toEqual([
      'said: I will add the export.',
      'called Bash: {"command":"npm test"}',
      'tool failed: 1 failing',
    ]);
    expect(await summarizeLastTranscript(t.handle.db, task.id, 40, sessionId)).toBe('');
  });
});
