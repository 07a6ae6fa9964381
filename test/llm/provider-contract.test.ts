/**
 * @module One contract, every provider: what the worker loop may rely on whichever provider runs the session
 * (claude and codex against their fake CLIs through the real SDKs, replay against a recorded session).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClaudeProvider } from '../../src/llm/claude-provider.js';
import { createCodexProvider } from '../../src/llm/codex-provider.js';
import type { LlmProvider, SessionRequest } from '../../src/llm/provider.js';
import { createReplayProvider } from '../../src/llm/replay-provider.js';
import { sessionEventSchema, type SessionEvent } from '../../src/llm/session-events.js';
import { FAKE_CLAUDE, FAKE_CODEX, fakeCliRun, recording } from '../support/fake-cli/fake-cli-harness.js';

const EXAMPLE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../examples/recordings/builder-implement-greeting.jsonl',
);

interface ProviderCase {
  name: string;
  /** A provider and request that succeed. */
  succeeding(): { provider: LlmProvider; request: SessionRequest };
  /** A provider and request that never finish on their own. */
  hanging(signal: AbortSignal): { provider: LlmProvider; request: SessionRequest };
}

function baseRequest(cwd: string, env: Record<string, string>, signal = new AbortController().signal): SessionRequest {
  return { prompt: 'Do the task.', cwd, env, signal, readOnly: false };
}

const CASES: ProviderCase[] = [
  {
    name: 'claude (fake claude CLI replaying recorded output)',
    succeeding: () => {
      const run = fakeCliRun('replay', recording('claude', 'stream-json-tool-success.jsonl'));
      return { provider: createClaudeProvider({ executable: FAKE_CLAUDE }), request: baseRequest(run.dir, run.env) };
    },
    hanging: (signal) => {
      const run = fakeCliRun('hang', recording('claude', 'stream-json-tool-success.jsonl'));
      return {
        provider: createClaudeProvider({ executable: FAKE_CLAUDE }),
        request: baseRequest(run.dir, run.env, signal),
      };
    },
  },
  {
    name: 'codex (fake codex CLI replaying recorded output)',
    succeeding: () => {
      const run = fakeCliRun('replay', recording('codex', 'exec-json-command.jsonl'));
      return { provider: createCodexProvider({ executable: FAKE_CODEX }), request: baseRequest(run.dir, run.env) };
    },
    hanging: (signal) => {
      const run = fakeCliRun('hang', recording('codex', 'exec-json-command.jsonl'));
      return {
        provider: createCodexProvider({ executable: FAKE_CODEX }),
        request: baseRequest(run.dir, run.env, signal),
      };
    },
  },
  {
    name: 'replay (recorded session)',
    succeeding: () => {
      const run = fakeCliRun('replay');
      return { provider: createReplayProvider({ sessionFile: EXAMPLE }), request: baseRequest(run.dir, {}) };
    },
    hanging: (signal) => {
      const run = fakeCliRun('replay');
      const file = path.join(run.dir, 'forever.jsonl');
      writeFileSync(
        file,
        '{"type":"text","text":"working"}\n{"type":"delay","ms":600000}\n{"type":"outcome","status":"succeeded"}\n',
      );
      return { provider: createReplayProvider({ sessionFile: file }), request: baseRequest(run.dir, {}, signal) };
    },
  },
];

describe.each(CASES)('provider contract: $name', (providerCase) => {
  it('a successful session: valid events in order, a session id, usage, a result text', async () => {
    const { provider, request } = providerCase.succeeding();
    const events: SessionEvent[] = [];
    const outcome = await provider.run(request, (event) => events.push(event));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.provider).toBe(provider.name);
    expect(outcome.providerSessionId).toEqual(expect.any(String));
    expect(outcome.resultText).not.toBe('');
    expect(outcome.error).toBeUndefined();
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    expect(outcome.usage.input_tokens + outcome.usage.output_tokens).toBeGreaterThan(0);
    for (const event of events) sessionEventSchema.parse(event);
    // The outcome's usage is the last usage event's.
    const lastUsage = events.filter((e) => e.type === 'usage').at(-1);
    expect(lastUsage).toMatchObject(outcome.usage);
  });

  it('abort ends a session that would never finish, promptly, as aborted', async () => {
    const controller = new AbortController();
    const { provider, request } = providerCase.hanging(controller.signal);
    let started = false;
    const pending = provider.run(request, () => {
      if (!started) {
        started = true;
        setTimeout(() => controller.abort(), 100);
      }
    });
    const outcome = await pending;
    expect(outcome).toMatchObject({ status: 'aborted', error: 'aborted', provider: provider.name });
  });

  it('an aborted signal before the start runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const { provider, request } = providerCase.succeeding();
    const events: SessionEvent[] = [];
    const outcome = await provider.run({ ...request, signal: controller.signal }, (event) => events.push(event));
    expect(outcome).toMatchObject({ status: 'aborted', provider: provider.name });
    expect(events).toEqual([]);
  });
});
