/**
 * @module Pure mapping of every recorded Codex `exec --json` output to session events, and Codex rate-limit
 * detection and reset-time parsing at fixed `now` values.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ThreadEvent } from '@openai/codex-sdk';
import {
  codexUsage,
  detectCodexRateLimit,
  initialCodexMapState,
  mapCodexEvent,
  parseCodexLine,
  parseCodexResetTime,
  type CodexMapState,
} from '../../src/llm/codex-events.js';
import { decideCodexOutcome } from '../../src/llm/codex-provider.js';
import { sessionEventSchema, type SessionEvent } from '../../src/llm/session-events.js';
import { RECORDINGS_DIR } from '../support/fake-cli/fake-cli-harness.js';

// 2026-11-24 00:35 UTC: when the recordings were made.
const NOW = Date.UTC(2026, 10, 24, 0, 35);
const CONTEXT = { now: NOW, timeZone: 'UTC' };

function eventsOf(name: string): ThreadEvent[] {
  return readFileSync(path.join(RECORDINGS_DIR, 'codex', name), 'utf8')
    .split('\n')
    .map(parseCodexLine)
    .filter((e): e is ThreadEvent => e !== null);
}

function mapAll(input: readonly ThreadEvent[]): { events: SessionEvent[]; state: CodexMapState } {
  let state = initialCodexMapState();
  const events: SessionEvent[] = [];
  for (const event of input) {
    const mapped = mapCodexEvent(event, state, CONTEXT);
    state = mapped.state;
    events.push(...mapped.events);
  }
  return { events, state };
}

const USAGE_LIMIT =
  'You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again later.';

const EXPECTED: Record<
  string,
  { types: SessionEvent['type'][]; check: (events: SessionEvent[], state: CodexMapState) => void }
> = {
  'exec-json-command.jsonl': {
    types: ['session_started', 'thinking', 'command', 'text', 'usage', 'result'],
    check: (events, state) => {
      expect(events).toEqual([
        { type: 'session_started', provider_session_id: '01a20afc-49dd-76e0-b8ce-03a2e82af565', model: null },
        { type: 'thinking', text: '**Planning** run echo' },
        { type: 'command', command: "/bin/bash -lc 'echo hi'", exit_code: 0, output: 'hi\n' },
        { type: 'text', text: 'Done: hi' },
        // 2400 input of which 2000 cached: 400 fresh.
        { type: 'usage', input_tokens: 400, output_tokens: 80, cache_read_tokens: 2000, cache_creation_tokens: 0 },
        { type: 'result', is_error: false, text: 'Done: hi' },
      ]);
      expect(decideCodexOutcome({ state, stopReason: null, crash: null, now: NOW, timeZone: 'UTC' })).toEqual({
        status: 'succeeded',
        resultText: 'Done: hi',
      });
    },
  },
  'exec-json-usage-limit.jsonl': {
    types: ['session_started', 'error', 'rate_limit', 'result'],
    check: (events, state) => {
      expect(events[1]).toEqual({ type: 'error', fatal: false, message: USAGE_LIMIT });
      expect(events[2]).toEqual({
        type: 'rate_limit',
        provider: 'codex',
        kind: 'rejected',
        resets_at: null,
        message: USAGE_LIMIT,
      });
      expect(decideCodexOutcome({ state, stopReason: null, crash: null, now: NOW, timeZone: 'UTC' })).toMatchObject({
        status: 'rate_limited',
        rateLimitResetsAt: null,
      });
    },
  },
  'exec-json-429-retry-exhausted.jsonl': {
    types: ['session_started', 'error', 'error', 'rate_limit', 'result'],
    check: (events, state) => {
      expect(events[1]).toEqual({
        type: 'error',
        fatal: false,
        message: 'Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests)',
      });
      expect(events.at(-1)).toEqual({
        type: 'result',
        is_error: true,
        text: 'exceeded retry limit, last status: 429 Too Many Requests',
      });
      expect(decideCodexOutcome({ state, stopReason: null, crash: null, now: NOW, timeZone: 'UTC' })).toMatchObject({
        status: 'rate_limited',
        rateLimitResetsAt: null,
      });
    },
  },
};

describe('mapping recorded Codex output', () => {
  const files = readdirSync(path.join(RECORDINGS_DIR, 'codex')).sort();

  it('covers every recording in the fixtures', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)('%s', (name) => {
    const expectation = EXPECTED[name];
    if (!expectation) throw new Error(`no expectation for ${name}`);
    const { events, state } = mapAll(eventsOf(name));
    expect(events.map((e) => e.type)).toEqual(expectation.types);
    for (const event of events) expect(sessionEventSchema.parse(event)).toEqual(event);
    expectation.check(events, state);
  });
});

describe('mapping Codex items not in the recordings', () => {
  it('file changes, MCP tool calls, web searches, failed patches', () => {
    const input = [
      {
        type: 'item.completed',
        item: {
          id: 'f1',
          type: 'file_change',
          status: 'completed',
          changes: [
            { path: '/w/a.ts', kind: 'add' },
            { path: '/w/b.ts', kind: 'update' },
          ],
        },
      },
      {
        type: 'item.completed',
        item: { id: 'f2', type: 'file_change', status: 'failed', changes: [{ path: '/w/c.ts', kind: 'delete' }] },
      },
      {
        type: 'item.started',
        item: {
          id: 'm1',
          type: 'mcp_tool_call',
          server: 'autodev',
          tool: 'create_task',
          arguments: { type: 'review_mr' },
          status: 'in_progress',
        },
      },
      {
        type: 'item.completed',
        item: {
          id: 'm1',
          type: 'mcp_tool_call',
          server: 'autodev',
          tool: 'create_task',
          arguments: {},
          status: 'completed',
          result: { content: [{ type: 'text', text: 'task 7' }], structured_content: null },
        },
      },
      { type: 'item.completed', item: { id: 'w1', type: 'web_search', query: 'vitest fork pool' } },
      { type: 'item.updated', item: { id: 't1', type: 'todo_list', items: [] } },
    ] as ThreadEvent[];
    expect(mapAll(input).events).toEqual([
      { type: 'file_change', path: '/w/a.ts', kind: 'add' },
      { type: 'file_change', path: '/w/b.ts', kind: 'update' },
      { type: 'error', fatal: false, message: 'patch failed: /w/c.ts' },
      { type: 'tool_call', id: 'm1', name: 'mcp__autodev__create_task', input: { type: 'review_mr' } },
      { type: 'tool_result', id: 'm1', output: 'task 7', is_error: false },
      { type: 'tool_call', id: 'w1', name: 'web_search', input: { query: 'vitest fork pool' } },
    ]);
  });

  it('usage: cached and cache-written tokens are not fresh input', () => {
    expect(
      codexUsage({
        input_tokens: 1000,
        cached_input_tokens: 600,
        cache_write_input_tokens: 100,
        output_tokens: 50,
        reasoning_output_tokens: 20,
      }),
    ).toEqual({
      input_tokens: 300,
      cache_read_tokens: 600,
      cache_creation_tokens: 100,
      output_tokens: 50,
    });
  });

  it('a crash after a usage-limit error is still a rate limit; after anything else a failure', () => {
    const limited = mapAll([
      { type: 'thread.started', thread_id: 't' },
      { type: 'error', message: USAGE_LIMIT },
    ] as ThreadEvent[]).state;
    expect(
      decideCodexOutcome({
        state: limited,
        stopReason: null,
        crash: 'Codex Exec exited with code 1',
        now: NOW,
        timeZone: 'UTC',
      }).status,
    ).toBe('rate_limited');
    const other = mapAll([
      { type: 'thread.started', thread_id: 't' },
      { type: 'error', message: 'Reconnecting... 1/5' },
    ] as ThreadEvent[]).state;
    expect(
      decideCodexOutcome({
        state: other,
        stopReason: null,
        crash: 'Codex Exec exited with code 1',
        now: NOW,
        timeZone: 'UTC',
      }),
    ).toEqual({
      status: 'failed',
      error: 'Codex exited before finishing the turn: Codex Exec exited with code 1',
      resultText: '',
    });
  });
});

describe('Codex rate-limit detection and reset times', () => {
  // Fixed now: 2026-11-24 00:35 UTC.
  it.each([
    ["You've hit your usage limit. Try again at 1:37 AM.", Date.UTC(2026, 10, 24, 1, 37)],
    [
      "You've hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), or try again at 1:37 AM.",
      Date.UTC(2026, 10, 24, 1, 37),
    ],
    ["You've hit your usage limit. Try again at Dec 29th, 2026 10:15 PM.", Date.UTC(2026, 11, 29, 22, 15)],
    ["You've hit your usage limit. Try again at Nov 1st, 2027 12:05 AM.", Date.UTC(2027, 10, 1, 0, 5)],
    [USAGE_LIMIT, null],
    ["You've hit your usage limit. Try again later.", null],
    ['exceeded retry limit, last status: 429 Too Many Requests', null],
    ['Rate limit reached for gpt-5.5 in organization org-x on tokens per min. Please try again in 20s.', NOW + 20_000],
    ['Rate limit reached for gpt-5.5. Please try again in 1.5m.', NOW + 90_000],
  ])('%s', (message, resetsAt) => {
    expect(detectCodexRateLimit(message, NOW, 'UTC')).toEqual({ resetsAt, message });
  });

  it('reads local times in the zone Codex runs in', () => {
    // 1:37 AM in Berlin (UTC+1) on Nov 24 is 00:37 UTC: just ahead of now.
    expect(parseCodexResetTime('try again at 1:37 AM.', NOW, 'Europe/Berlin')).toBe(Date.UTC(2026, 10, 24, 0, 37));
  });

  it('other failures are not limits', () => {
    for (const message of [
      'stream disconnected before completion: error sending request',
      'Quota exceeded. Check your plan and billing details. (insufficient_quota)',
      'unexpected status 401 Unauthorized: Missing bearer authentication',
      'Reconnecting... 1/5',
    ]) {
      expect(detectCodexRateLimit(message, NOW, 'UTC')).toBeNull();
    }
  });
});
