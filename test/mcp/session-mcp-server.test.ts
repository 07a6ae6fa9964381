import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OUTBOX_FILE, readOutbox, readSessionResult, RESULT_FILE } from '../../src/mcp/session-files.js';
import { createSessionMcpServer, SESSION_TOOL_NAMES } from '../../src/mcp/session-mcp-server.js';
import { validateNewTask } from '../../src/queue/enqueue-task.js';
import {
  connectClient,
  fakeValidateResult,
  makeSessionContext,
  makeSessionDir,
  TEST_RESULT_SCHEMA,
  textOf,
  removeSessionDirs,
} from './session-fixtures.js';

afterAll(removeSessionDirs);

type Connected = Awaited<ReturnType<typeof connectClient>>;
let connected: Connected | undefined;

async function setUp(overrides: Parameters<typeof connectClient>[1] = {}) {
  const dir = await makeSessionDir();
  connected = await connectClient(dir, overrides);
  return { dir, client: connected.client };
}

afterEach(async () => {
  await connected?.close();
  connected = undefined;
});

async function outboxExists(dir: string): Promise<boolean> {
  return fs.access(path.join(dir, OUTBOX_FILE)).then(
    () => true,
    () => false,
  );
}

describe('session MCP server', () => {
  it('lists the four tools with descriptions and input schemas', async () => {
    const { client } = await setUp();
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([...SESSION_TOOL_NAMES].sort());
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(100);
      expect(tool.inputSchema.type).toBe('object');
    }
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));

    // submit_result advertises the task's own result schema
    const submit = byName.submit_result?.inputSchema as Record<string, unknown>;
    expect(submit.properties).toEqual(TEST_RESULT_SCHEMA.properties);
    expect(submit.required).toEqual(['summary', 'verdict']);
    expect(submit.$schema).not.toBe(TEST_RESULT_SCHEMA.$schema);
    expect(byName.submit_result?.description).toContain('A review with a verdict.');

    const create = byName.create_task?.inputSchema as { properties: Record<string, Record<string, unknown>> };
    expect(Object.keys(create.properties).sort()).toEqual(['payload', 'priority', 'reason', 'type']);
    expect(create.properties.type?.enum).toContain('implement_fix');
    expect(create.properties.priority).toMatchObject({ type: 'integer', minimum: 1, maximum: 10 });
    expect(create.properties.payload).toMatchObject({ type: 'object' });
    expect(byName.create_task?.inputSchema.required).toEqual(expect.arrayContaining(['type', 'payload', 'reason']));

    const post = byName.post_discussion?.inputSchema as { properties: Record<string, Record<string, unknown>> };
    expect(post.properties.topic).toMatchObject({ type: 'string', minLength: 1, maxLength: 100 });
    expect(post.properties.body).toMatchObject({ type: 'string', minLength: 1, maxLength: 20_000 });
  });

  it('refuses to start without a valid context.json', async () => {
    const dir = await makeSessionDir(null);
    expect(() =>
      createSessionMcpServer({ sessionDir: dir, validateResult: fakeValidateResult, validateNewTask }),
    ).toThrow(/context\.json does not exist/);
    await fs.writeFile(path.join(dir, 'context.json'), JSON.stringify({ task: { id: 1 } }));
    expect(() =>
      createSessionMcpServer({ sessionDir: dir, validateResult: fakeValidateResult, validateNewTask }),
    ).toThrow(/context\.json is invalid/);
  });

  describe('read_task', () => {
    it('returns the task, its context and the result schema, with the session status', async () => {
      const { client } = await setUp();
      const result = await client.callTool({ name: 'read_task', arguments: {} });
      expect(result.isError).toBeFalsy();
      const [header, json] = (result.content as { text: string }[]).map((item) => item.text);
      expect(header).toContain('Task #42 (review_mr');
      expect(header).toContain('data quoted from elsewhere');
      expect(JSON.parse(json ?? '')).toEqual({
        ...makeSessionContext(),
        session: { result_submitted: false, queued_requests: 0, max_queued_requests: 50 },
      });
    });

    it('reports a submitted result and queued requests', async () => {
      const { client } = await setUp();
      await client.callTool({ name: 'submit_result', arguments: { summary: 'ok', verdict: 'approve' } });
      await client.callTool({ name: 'post_discussion', arguments: { topic: 't', body: 'b' } });
      const result = await client.callTool({ name: 'read_task', arguments: {} });
      const json = (result.content as { text: string }[])[1]?.text ?? '';
      expect(JSON.parse(json).session).toMatchObject({ result_submitted: true, queued_requests: 1 });
    });
  });

  describe('submit_result', () => {
    it('rejects an invalid result with the reason and records nothing', async () => {
      const { dir, client } = await setUp();
      const result = await client.callTool({ name: 'submit_result', arguments: { summary: '', verdict: 'maybe' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('summary: required');
      expect(textOf(result)).toContain('verdict: must be "approve" or "request_changes"');
      expect(textOf(result)).toContain('Nothing was recorded');
      await expect(fs.access(path.join(dir, RESULT_FILE))).rejects.toThrow();
    });

    it('records a valid result; a later valid one replaces it, a later invalid one does not', async () => {
      const { dir, client } = await setUp();
      const first = await client.callTool({ name: 'submit_result', arguments: { summary: 'ok', verdict: 'approve' } });
      expect(first.isError).toBeFalsy();
      expect(textOf(first)).toMatch(/^result recorded/);
      expect(await readSessionResult(dir)).toEqual({
        task_id: 42,
        task_type: 'review_mr',
        submitted_at: '2025-03-01T12:00:00.000Z',
        result: { summary: 'ok', verdict: 'approve' },
      });

      await client.callTool({ name: 'submit_result', arguments: { summary: 'changed', verdict: 'request_changes' } });
      const invalid = await client.callTool({ name: 'submit_result', arguments: { verdict: 'approve' } });
      expect(invalid.isError).toBe(true);
      expect((await readSessionResult(dir))?.result).toEqual({ summary: 'changed', verdict: 'request_changes' });
    });

    it('passes the task type and the arguments as given to the validator', async () => {
      const seen: unknown[] = [];
      const { client } = await setUp({
        validateResult: (taskType, value) => {
          seen.push([taskType, value]);
          return { ok: false, reason: 'nope' };
        },
      });
      await client.callTool({ name: 'submit_result', arguments: { summary: 's', extra: { deep: [1] } } });
      expect(seen).toEqual([['review_mr', { summary: 's', extra: { deep: [1] } }]]);
    });
  });

  describe('create_task', () => {
    it.each([
      [
        'an unknown type',
        { type: 'hack_the_planet', payload: {}, reason: 'r' },
        /unknown task type "hack_the_planet".*Known task types by role: pm: analyze_repo/s,
      ],
      [
        'priority 11',
        { type: 'implement_fix', priority: 11, payload: {}, reason: 'r' },
        /priority must be a whole number from 1 to 10 \(got 11\)/,
      ],
      [
        'priority 2.5',
        { type: 'implement_fix', priority: 2.5, payload: {}, reason: 'r' },
        /priority must be a whole number/,
      ],
      ['an array payload', { type: 'implement_fix', payload: [1, 2], reason: 'r' }, /payload must be a JSON object/],
      ['a string payload', { type: 'implement_fix', payload: 'fix it', reason: 'r' }, /payload must be a JSON object/],
      ['no reason', { type: 'implement_fix', payload: {} }, /reason/],
      ['a blank reason', { type: 'implement_fix', payload: {}, reason: '   ' }, /reason/],
    ])('rejects %s and leaves the outbox unchanged', async (_name, args, message) => {
      const { dir, client } = await setUp();
      const result = await client.callTool({ name: 'create_task', arguments: args });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(await outboxExists(dir)).toBe(false);
    });

    it('rejects a payload over the size limit', async () => {
      const { dir, client } = await setUp();
      const payload = { notes: 'x'.repeat(70 * 1024) };
      const result = await client.callTool({
        name: 'create_task',
        arguments: { type: 'write_spec', payload, reason: 'r' },
      });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/payload is \d+ bytes of JSON; the most allowed is 65536/);
      expect(await outboxExists(dir)).toBe(false);
    });

    it('queues a valid request in the outbox, with the default priority', async () => {
      const { dir, client } = await setUp();
      const result = await client.callTool({
        name: 'create_task',
        arguments: {
          type: 'implement_fix',
          payload: { bug: 'null check in login()' },
          reason: ' Found while reviewing. ',
        },
      });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toMatch(/^queued: will be created when this task completes/);
      const lines = (await fs.readFile(path.join(dir, OUTBOX_FILE), 'utf8')).trim().split('\n');
      expect(lines.map((line) => JSON.parse(line))).toEqual([
        {
          seq: 1,
          at: '2025-03-01T12:00:00.000Z',
          kind: 'create_task',
          type: 'implement_fix',
          priority: 5,
          payload: { bug: 'null check in login()' },
          reason: 'Found while reviewing.',
        },
      ]);
    });
  });

  describe('post_discussion', () => {
    it.each([
      ['an empty topic', { topic: '', body: 'b' }, /topic/],
      ['a blank body', { topic: 't', body: ' \n ' }, /body/],
      ['a topic over 100 characters', { topic: 't'.repeat(101), body: 'b' }, /topic/],
      ['a body over 20,000 characters', { topic: 't', body: 'b'.repeat(20_001) }, /body/],
      ['a missing body', { topic: 't' }, /body/],
    ])('rejects %s and leaves the outbox unchanged', async (_name, args, message) => {
      const { dir, client } = await setUp();
      const result = await client.callTool({ name: 'post_discussion', arguments: args });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(await outboxExists(dir)).toBe(false);
    });

    it('queues a valid message, at the limits', async () => {
      const { dir, client } = await setUp();
      const topic = 't'.repeat(100);
      const body = 'b'.repeat(20_000);
      const result = await client.callTool({ name: 'post_discussion', arguments: { topic, body } });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toMatch(/^queued: will be posted when this task completes/);
      expect((await readOutbox(dir)).entries).toEqual([
        { seq: 1, at: '2025-03-01T12:00:00.000Z', kind: 'post_discussion', topic, body },
      ]);
    });
  });

  describe('reply_to, propose and vote', () => {
    it('queues a reply, a proposal and a vote in call order', async () => {
      const { dir, client } = await setUp();
      for (const [name, args] of [
        ['post_discussion', { topic: 'story:3', body: 'agreed', reply_to: 12 }],
        ['propose', { title: 'Add CSV export', body: 'Users ask for it', proposal_kind: 'story' }],
        ['vote', { proposal_id: 4, vote: 'down', reason: 'duplicate of #2' }],
      ] as const) {
        const result = await client.callTool({ name, arguments: args });
        expect(result.isError, textOf(result)).toBeFalsy();
        expect(textOf(result)).toMatch(/^queued: /);
      }
      expect((await readOutbox(dir)).entries).toEqual([
        expect.objectContaining({ seq: 1, kind: 'post_discussion', topic: 'story:3', body: 'agreed', reply_to: 12 }),
        expect.objectContaining({
          seq: 2,
          kind: 'propose',
          title: 'Add CSV export',
          body: 'Users ask for it',
          proposal_kind: 'story',
        }),
        expect.objectContaining({ seq: 3, kind: 'vote', proposal_id: 4, vote: 'down', reason: 'duplicate of #2' }),
      ]);
    });

    it.each([
      ['a reply to a fractional id', 'post_discussion', { topic: 't', body: 'b', reply_to: 1.5 }, /reply_to/],
      ['a proposal without a title', 'propose', { title: ' ', body: 'b', proposal_kind: 'story' }, /title/],
      ['a proposal of an unknown kind', 'propose', { title: 't', body: 'b', proposal_kind: 'epic' }, /proposal_kind/],
      ['a vote sideways', 'vote', { proposal_id: 1, vote: 'sideways' }, /vote/],
      ['a vote on proposal 0', 'vote', { proposal_id: 0, vote: 'up' }, /proposal_id/],
    ] as const)('rejects %s and leaves the outbox unchanged', async (_what, name, args, message) => {
      const { dir, client } = await setUp();
      const result = await client.callTool({ name, arguments: args });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(await outboxExists(dir)).toBe(false);
    });
  });

  it('caps the requests one session can queue, even when calls overlap', async () => {
    const { dir, client } = await setUp({ maxOutboxEntries: 3 });
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        client.callTool({ name: 'post_discussion', arguments: { topic: `t${i}`, body: 'b' } }),
      ),
    );
    expect(results.filter((result) => !result.isError)).toHaveLength(3);
    expect(textOf(results.find((result) => result.isError))).toMatch(/already queued 3 requests/);
    const { entries } = await readOutbox(dir);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3]);
  });
});
