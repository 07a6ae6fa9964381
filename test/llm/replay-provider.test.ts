/**
 * @module The replay provider: plays recorded sessions (events and the recorded outcome; it writes no file), always
 * labelled as replayed, under the same abort and token-budget rules as live providers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SessionRequest } from '../../src/llm/provider.js';
import { createReplayProvider, parseRecordedSession, pathInside } from '../../src/llm/replay-provider.js';
import type { SessionEvent } from '../../src/llm/session-events.js';
import { scratchDir } from '../support/fake-cli/fake-cli-harness.js';

const EXAMPLE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../examples/recordings/builder-implement-greeting.jsonl',
);

function tempDir(): string {
  return scratchDir('autodev-replay-');
}

function request(cwd: string, overrides: Partial<SessionRequest> = {}): SessionRequest {
  return {
    prompt: 'Implement the greeting story.',
    cwd,
    env: {},
    signal: new AbortController().signal,
    readOnly: false,
    ...overrides,
  };
}

function recordingFile(lines: readonly object[]): string {
  const file = path.join(tempDir(), 'session.jsonl');
  writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n'));
  return file;
}

describe('replay provider', () => {
  it('plays a recorded builder session, labels everything as replayed, and writes none of its files', async () => {
    const cwd = tempDir();
    const events: SessionEvent[] = [];
    const outcome = await createReplayProvider({ sessionFile: EXAMPLE }).run(request(cwd), (event) =>
      events.push(event),
    );
    expect(events[0]).toEqual({ type: 'text', text: '[replayed session: builder-implement-greeting.jsonl]' });
    expect(outcome).toMatchObject({
      status: 'succeeded',
      provider: 'replay',
      providerSessionId: 'replay-builder-implement-greeting',
      model: 'claude-sonnet-4-5',
      resultText: 'Added greet(name) in src/greeting.ts with a test in test/greeting.test.ts.',
      numTurns: 3,
      costUsd: 0.0318,
      usage: { input_tokens: 3100, output_tokens: 410, cache_read_tokens: 21000, cache_creation_tokens: 1500 },
    });
    expect(existsSync(path.join(cwd, 'src/greeting.ts'))).toBe(false);
    expect(readFileSync(EXAMPLE, 'utf8')).toContain('export function greet(name: string)');
    // The transcript carries the change, not the file's content.
    expect(events).toContainEqual({ type: 'file_change', path: 'src/greeting.ts', kind: 'add' });
    expect(events.some((e) => JSON.stringify(e).includes('export function greet'))).toBe(false);
  });

  it('picks the recording per request; a recorded delete deletes nothing', async () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, 'old.txt'), 'stale');
    const file = recordingFile([
      { type: 'file_change', path: 'old.txt', kind: 'delete' },
      { type: 'outcome', status: 'succeeded', resultText: 'removed' },
    ]);
    const provider = createReplayProvider({ sessionFile: (req) => (req.prompt === 'clean up' ? file : EXAMPLE) });
    const outcome = await provider.run(request(cwd, { prompt: 'clean up' }), () => {});
    expect(outcome).toMatchObject({ status: 'succeeded', provider: 'replay', resultText: 'removed' });
    expect(readFileSync(path.join(cwd, 'old.txt'), 'utf8')).toBe('stale');
  });

  it('refuses a recording naming a file outside the working directory', async () => {
    const cwd = tempDir();
    const file = recordingFile([
      { type: 'file_change', path: '../escaped.txt', kind: 'add', content: 'x' },
      { type: 'outcome', status: 'succeeded' },
    ]);
    const outcome = await createReplayProvider({ sessionFile: file }).run(request(cwd), () => {});
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('outside the working directory');
    expect(existsSync(path.join(cwd, '..', 'escaped.txt'))).toBe(false);
  });

  it('replays a rate limit with a reset relative to now', async () => {
    const file = recordingFile([
      {
        type: 'rate_limit',
        provider: 'claude',
        kind: 'rejected',
        resets_at: null,
        message: "You've hit your session limit",
      },
      { type: 'outcome', status: 'rate_limited', error: "You've hit your session limit", rateLimitResetsInMs: 60_000 },
    ]);
    const outcome = await createReplayProvider({ sessionFile: file, now: () => 1_000_000 }).run(
      request(tempDir()),
      () => {},
    );
    expect(outcome).toMatchObject({ status: 'rate_limited', provider: 'replay', rateLimitResetsAt: 1_060_000 });
  });

  it('stops when aborted, even in the middle of a long pause', async () => {
    const file = recordingFile([
      { type: 'text', text: 'thinking hard' },
      { type: 'delay', ms: 60_000 },
      { type: 'outcome', status: 'succeeded' },
    ]);
    const controller = new AbortController();
    const events: SessionEvent[] = [];
    const pending = createReplayProvider({ sessionFile: file }).run(
      request(tempDir(), { signal: controller.signal }),
      (e) => {
        events.push(e);
        if (e.type === 'text' && e.text === 'thinking hard') setTimeout(() => controller.abort(), 50);
      },
    );
    const outcome = await pending;
    expect(outcome).toMatchObject({ status: 'aborted', provider: 'replay', error: 'aborted' });
  });

  it('stops at the token budget', async () => {
    const outcome = await createReplayProvider({ sessionFile: EXAMPLE }).run(
      request(tempDir(), { tokenBudget: 2000 }),
      () => {},
    );
    expect(outcome).toMatchObject({ status: 'aborted', error: 'token budget' });
  });

  it('plays with a per-event delay', async () => {
    const started = Date.now();
    const outcome = await createReplayProvider({ sessionFile: EXAMPLE, delayMs: 30 }).run(request(tempDir()), () => {});
    expect(outcome.status).toBe('succeeded');
    expect(Date.now() - started).toBeGreaterThanOrEqual(12 * 30 - 20);
  });

  it('a broken or missing recording fails, naming the file and line', async () => {
    const broken = recordingFile([{ type: 'text' }, { type: 'outcome', status: 'succeeded' }]);
    const outcome = await createReplayProvider({ sessionFile: broken }).run(request(tempDir()), () => {});
    expect(outcome).toMatchObject({ status: 'failed', provider: 'replay' });
    expect(outcome.error).toContain('session.jsonl line 1: text:');
    const missing = await createReplayProvider({ sessionFile: '/nonexistent/x.jsonl' }).run(
      request(tempDir()),
      () => {},
    );
    expect(missing).toMatchObject({ status: 'failed', provider: 'replay' });
    expect(missing.error).toContain('cannot replay x.jsonl');
  });

  it('parses the format: comments, one outcome last', () => {
    expect(parseRecordedSession('# comment\n\n{"type":"outcome","status":"failed","error":"x"}\n', 'f')).toEqual([
      { kind: 'outcome', outcome: { type: 'outcome', status: 'failed', error: 'x' } },
    ]);
    expect(() => parseRecordedSession('{"type":"text","text":"a"}', 'f')).toThrow('exactly one {"type":"outcome"');
    expect(pathInside('/w', 'src/a.ts')).toBe('/w/src/a.ts');
    expect(pathInside('/w', '/etc/passwd')).toBeNull();
    expect(pathInside('/w', 'src/../../x')).toBeNull();
  });
});
