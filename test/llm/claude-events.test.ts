/**
 * @module Pure mapping of every recorded Claude Code output to session events, and Claude rate-limit detection and
 * reset-time parsing at fixed `now` values.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import {
  detectClaudeRateLimit,
  initialClaudeMapState,
  isClaudeLimitText,
  mapClaudeMessage,
  parseClaudeLine,
  parseClaudeResetTime,
} from '../../src/llm/claude-events.js';
import { sessionEventSchema, type SessionEvent } from '../../src/llm/session-events.js';
import { RECORDINGS_DIR } from '../support/fake-cli/fake-cli-harness.js';

// 2026-11-24 00:35 UTC: when the recordings were made.
const NOW = Date.UTC(2026, 10, 24, 0, 35);
const CONTEXT = { now: NOW, timeZone: 'UTC' };

function messagesOf(name: string): SDKMessage[] {
  const text = readFileSync(path.join(RECORDINGS_DIR, 'claude', name), 'utf8');
  return text
    .split('\n')
    .map(parseClaudeLine)
    .filter((m): m is SDKMessage => m !== null);
}

function mapAll(messages: readonly SDKMessage[]): SessionEvent[] {
  let state = initialClaudeMapState();
  const events: SessionEvent[] = [];
  for (const message of messages) {
    const mapped = mapClaudeMessage(message, state, CONTEXT);
    state = mapped.state;
    events.push(...mapped.events);
  }
  return events;
}

interface Expectation {
  types: SessionEvent['type'][];
  check: (events: SessionEvent[], messages: SDKMessage[]) => void;
}

const EXPECTED: Record<string, Expectation> = {
  'json-success.json': {
    types: ['usage', 'result'],
    check: (events) => {
      expect(events[0]).toEqual({
        type: 'usage',
        input_tokens: 240,
        output_tokens: 37,
        cache_read_tokens: 2000,
        cache_creation_tokens: 100,
        cost_usd: 0.00225,
      });
      expect(events[1]).toEqual({
        type: 'result',
        is_error: false,
        text: 'Done: hi',
        num_turns: 2,
        duration_ms: 396,
        cost_usd: 0.00225,
      });
    },
  },
  'stream-json-tool-success.jsonl': {
    types: ['session_started', 'text', 'usage', 'tool_call', 'tool_result', 'text', 'usage', 'usage', 'result'],
    check: (events) => {
      expect(events[0]).toEqual({
        type: 'session_started',
        provider_session_id: 'aec8d8ca-1b1a-4055-8b5e-a57fff641429',
        model: 'claude-sonnet-4-5',
      });
      // Two API responses (msg_mock1 carried two blocks): counted once each while streaming...
      expect(events[2]).toMatchObject({
        type: 'usage',
        input_tokens: 120,
        cache_read_tokens: 1000,
        cache_creation_tokens: 50,
      });
      expect(events[6]).toMatchObject({
        type: 'usage',
        input_tokens: 240,
        cache_read_tokens: 2000,
        cache_creation_tokens: 100,
      });
      // ...then the result's totals win, with the cost.
      expect(events[7]).toEqual({
        type: 'usage',
        input_tokens: 240,
        output_tokens: 37,
        cache_read_tokens: 2000,
        cache_creation_tokens: 100,
        cost_usd: 0.00225,
      });
      expect(events[3]).toEqual({
        type: 'tool_call',
        id: 'toolu_01',
        name: 'Bash',
        input: { command: 'echo hi', description: 'Say hi' },
      });
      expect(events[4]).toEqual({ type: 'tool_result', id: 'toolu_01', output: 'hi', is_error: false });
      expect(events[8]).toMatchObject({ type: 'result', is_error: false, text: 'Done: hi' });
    },
  },
  'stream-json-input-stream.jsonl': {
    types: ['session_started', 'text', 'usage', 'tool_call', 'tool_result', 'text', 'usage', 'usage', 'result'],
    check: (events, messages) => {
      expect(events.at(-1)).toMatchObject({ type: 'result', is_error: false, text: 'Done: hi' });
      expect(detectClaudeRateLimit(messages, NOW, 'UTC')).toBeNull();
    },
  },
  'stream-json-error-max-turns.jsonl': {
    types: ['session_started', 'text', 'usage', 'tool_call', 'tool_result', 'usage', 'error', 'result'],
    check: (events, messages) => {
      expect(events).toContainEqual({ type: 'error', fatal: true, message: 'Reached maximum number of turns (1)' });
      expect(events.at(-1)).toMatchObject({
        type: 'result',
        is_error: true,
        text: 'Reached maximum number of turns (1)',
      });
      expect(detectClaudeRateLimit(messages, NOW, 'UTC')).toBeNull();
    },
  },
  'stream-json-not-logged-in.jsonl': {
    types: ['session_started', 'error', 'usage', 'error', 'result'],
    check: (events, messages) => {
      expect(events[1]).toEqual({
        type: 'error',
        fatal: true,
        message: 'Not logged in · Please run /login (authentication_failed)',
      });
      // The synthetic message is an error, not the agent speaking.
      expect(events.some((e) => e.type === 'text')).toBe(false);
      expect(detectClaudeRateLimit(messages, NOW, 'UTC')).toBeNull();
    },
  },
  'stream-json-api-429-noretry.jsonl': {
    types: ['session_started', 'rate_limit', 'usage', 'result'],
    check: (events, messages) => {
      expect(events[1]).toMatchObject({ type: 'rate_limit', provider: 'claude', kind: 'rejected', resets_at: null });
      expect(detectClaudeRateLimit(messages, NOW, 'UTC')).toMatchObject({ resetsAt: null, source: 'api_error' });
    },
  },
  'stream-json-api-429-retries.jsonl': {
    types: ['session_started', 'error', 'error', 'rate_limit', 'usage', 'result'],
    check: (events, messages) => {
      expect(events[1]).toEqual({
        type: 'error',
        fatal: false,
        message: 'API error 429 (rate_limit); retry 1/2 in 1000 ms',
      });
      expect(events[2]).toEqual({
        type: 'error',
        fatal: false,
        message: 'API error 429 (rate_limit); retry 2/2 in 1204 ms',
      });
      expect(detectClaudeRateLimit(messages, NOW, 'UTC')).toMatchObject({ resetsAt: null, source: 'api_error' });
    },
  },
  'stream-json-subscription-limit.jsonl': {
    types: ['session_started', 'rate_limit', 'usage', 'result'],
    check: (events, messages) => {
      expect(events[1]).toEqual({
        type: 'rate_limit',
        provider: 'claude',
        kind: 'rejected',
        resets_at: 1795484393_000,
        message: 'Claude five hour limit reached',
      });
      expect(detectClaudeRateLimit(messages, NOW, 'UTC')).toEqual({
        resetsAt: 1795484393_000,
        message: "You've hit your session limit · resets 1:39am (UTC)",
        source: 'rate_limit_event',
      });
    },
  },
};

describe('mapping recorded Claude Code output', () => {
  const files = readdirSync(path.join(RECORDINGS_DIR, 'claude')).sort();

  it('covers every recording in the fixtures', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)('%s', (name) => {
    const expectation = EXPECTED[name];
    if (!expectation) throw new Error(`no expectation for ${name}`);
    const messages = messagesOf(name);
    const events = mapAll(messages);
    expect(events.map((e) => e.type)).toEqual(expectation.types);
    for (const event of events) expect(sessionEventSchema.parse(event)).toEqual(event);
    expectation.check(events, messages);
  });
});

describe('mapping Claude messages not in the recordings', () => {
  const base = { parent_tool_use_id: null, session_id: 's', uuid: 'u' };

  it('thinking blocks, Write results as file changes, images in tool results', () => {
    const messages = [
      {
        ...base,
        type: 'assistant',
        message: {
          id: 'm1',
          model: 'x',
          role: 'assistant',
          content: [{ type: 'thinking', thinking: 'Plan: write it.', signature: '' }],
          usage: { input_tokens: 5, output_tokens: 1 },
        },
      },
      {
        ...base,
        type: 'user',
        message: {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 't1',
              content: [
                { type: 'text', text: 'ok' },
                { type: 'image', source: {} },
              ],
            },
          ],
        },
        tool_use_result: { type: 'create', filePath: '/w/src/x.ts', content: 'x', structuredPatch: [] },
      },
      {
        ...base,
        type: 'user',
        message: {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't2', content: 'edited', is_error: false }],
        },
        tool_use_result: { filePath: '/w/src/y.ts', oldString: 'a', newString: 'b', structuredPatch: [] },
      },
    ] as unknown as SDKMessage[];
    expect(mapAll(messages)).toEqual([
      { type: 'thinking', text: 'Plan: write it.' },
      { type: 'usage', input_tokens: 5, output_tokens: 1, cache_read_tokens: 0, cache_creation_tokens: 0 },
      { type: 'tool_result', id: 't1', output: 'ok\n[image]', is_error: false },
      { type: 'file_change', path: '/w/src/x.ts', kind: 'add' },
      { type: 'tool_result', id: 't2', output: 'edited', is_error: false },
      { type: 'file_change', path: '/w/src/y.ts', kind: 'update' },
    ]);
  });

  it('a rate-limit warning is a warning, not a rejection', () => {
    const events = mapAll([
      {
        ...base,
        type: 'rate_limit_event',
        rate_limit_info: {
          status: 'allowed_warning',
          resetsAt: 1795484393,
          rateLimitType: 'seven_day',
          utilization: 0.91,
        },
      },
    ] as unknown as SDKMessage[]);
    expect(events).toEqual([
      {
        type: 'rate_limit',
        provider: 'claude',
        kind: 'warning',
        resets_at: 1795484393_000,
        message: 'Claude seven day limit nearly reached (91% used)',
      },
    ]);
  });

  it('ignores message types it does not know', () => {
    expect(mapAll([{ ...base, type: 'future_thing' }] as unknown as SDKMessage[])).toEqual([]);
    expect(parseClaudeLine('not json')).toBeNull();
    expect(parseClaudeLine('')).toBeNull();
  });
});

describe('Claude rate-limit detection', () => {
  const errorResult = (text: string, status: number | null = null) =>
    ({
      type: 'result',
      subtype: 'success',
      is_error: true,
      api_error_status: status,
      result: text,
      num_turns: 1,
      duration_ms: 1,
      total_cost_usd: 0,
      usage: {},
      modelUsage: {},
      session_id: 's',
    }) as unknown as SDKMessage;

  it('reads the reset time from the text when there is no structured event', () => {
    expect(
      detectClaudeRateLimit([errorResult("You've hit your session limit · resets 1:39am (UTC)")], NOW, 'UTC'),
    ).toEqual({
      resetsAt: Date.UTC(2026, 10, 24, 1, 39),
      message: "You've hit your session limit · resets 1:39am (UTC)",
      source: 'text',
    });
  });

  it('does not take a successful session for a limited one, whatever warnings came first', () => {
    const success = { ...(errorResult('Done') as object), is_error: false } as unknown as SDKMessage;
    const rejected = {
      type: 'rate_limit_event',
      rate_limit_info: { status: 'rejected', resetsAt: 1 },
    } as unknown as SDKMessage;
    expect(detectClaudeRateLimit([rejected, success], NOW, 'UTC')).toBeNull();
  });

  it('an API 429 counts even when the text says nothing about limits', () => {
    expect(detectClaudeRateLimit([errorResult('API Error', 429)], NOW, 'UTC')).toMatchObject({
      source: 'api_error',
      resetsAt: null,
    });
  });

  it('authentication, billing and server errors are not limits', () => {
    for (const text of [
      'Not logged in · Please run /login',
      'Invalid API key · Fix external API key',
      'Credit balance is too low',
      'API Error: 529 Overloaded',
    ]) {
      expect(isClaudeLimitText(text)).toBe(false);
      expect(detectClaudeRateLimit([errorResult(text)], NOW, 'UTC')).toBeNull();
    }
  });
});

describe('Claude reset times', () => {
  // Fixed now: Tuesday 2026-11-24 00:35 UTC (= 2026-11-23 19:35 in New York, 01:35 in Berlin).
  it.each([
    ["You've hit your session limit · resets 1:39am (UTC)", Date.UTC(2026, 10, 24, 1, 39)],
    ["You've hit your limit · resets 11pm (America/Anchorage)", Date.UTC(2026, 10, 24, 8, 0)], // 23:00 AKST on the 23rd
    ["You've hit your weekly limit · resets Jul 31, 2am (UTC)", Date.UTC(2027, 6, 31, 2, 0)],
    ["You've hit your weekly limit · resets Nov 30 at 7pm (Europe/Berlin)", Date.UTC(2026, 10, 30, 18, 0)],
    ["You've hit your weekly limit · resets Jul 27 at 4:30am (Asia/Calcutta)", Date.UTC(2027, 6, 26, 23, 0)],
    ['5-hour limit reached ∙ resets 3pm', Date.UTC(2026, 10, 24, 15, 0)],
    ['Claude AI usage limit reached|1795484393', 1795484393_000],
    ['Your limit will reset at 9:30 AM.', Date.UTC(2026, 10, 24, 9, 30)],
  ])('%s', (text, expected) => {
    expect(parseClaudeResetTime(text, NOW, 'UTC')).toBe(expected);
  });

  it('reads a time without a zone in the zone Claude runs in', () => {
    // 3pm in New York on the local date (Nov 23 there) is 20:00 UTC on the 23rd: already past, so the next day.
    expect(parseClaudeResetTime('5-hour limit reached ∙ resets 3pm', NOW, 'America/New_York')).toBe(
      Date.UTC(2026, 10, 24, 20, 0),
    );
    // 9pm in New York is still ahead on the 23rd.
    expect(parseClaudeResetTime('5-hour limit reached ∙ resets 9pm', NOW, 'America/New_York')).toBe(
      Date.UTC(2026, 10, 24, 2, 0),
    );
  });

  it('a time already past (beyond a little clock skew) means tomorrow', () => {
    expect(parseClaudeResetTime('resets 12:01am (UTC)', NOW, 'UTC')).toBe(Date.UTC(2026, 10, 25, 0, 1));
    expect(parseClaudeResetTime('resets 12:30am (UTC)', NOW, 'UTC')).toBe(Date.UTC(2026, 10, 24, 0, 30));
  });

  it('an unknown zone falls back to the given one; no time means null', () => {
    expect(parseClaudeResetTime('resets 3pm (Mars/Olympus)', NOW, 'UTC')).toBe(Date.UTC(2026, 10, 24, 15, 0));
    expect(parseClaudeResetTime("You've hit your weekly limit", NOW, 'UTC')).toBeNull();
  });
});
