/**
 * @module The claude provider driving the real @anthropic-ai/claude-agent-sdk against a fake Claude CLI that replays
 * recorded stream-json output (and crashes, hangs or overspends on request).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { claudeQueryOptions, createClaudeProvider } from '../../src/llm/claude-provider.js';
import type { SessionRequest } from '../../src/llm/provider.js';
import type { SessionEvent } from '../../src/llm/session-events.js';
import {
  FAKE_CLAUDE,
  fakeCliCalls,
  fakeCliRun,
  isProcessAlive,
  recording,
  waitForExit,
  waitForPid,
  type FakeCliRun,
  type FakeScenario,
} from '../support/fake-cli/fake-cli-harness.js';

// 2026-11-24 00:35 UTC: when the recordings were made (the subscription limit resets at 01:39 UTC).
const RECORDED_AT = Date.UTC(2026, 10, 24, 0, 35);

function request(run: FakeCliRun, overrides: Partial<SessionRequest> = {}): SessionRequest {
  return {
    prompt: 'Say hi with a shell command.',
    cwd: run.dir,
    env: run.env,
    signal: new AbortController().signal,
    readOnly: false,
    ...overrides,
  };
}

async function runFake(scenario: FakeScenario, recordingName?: string, overrides: Partial<SessionRequest> = {}) {
  const run = fakeCliRun(scenario, recordingName ? recording('claude', recordingName) : undefined);
  const provider = createClaudeProvider({
    executable: FAKE_CLAUDE,
    now: () => RECORDED_AT,
    timeZone: 'UTC',
    killGraceMs: 1000,
  });
  const events: SessionEvent[] = [];
  const outcome = await provider.run(request(run, overrides), (event) => events.push(event));
  return { run, events, outcome };
}

describe('claude provider: fake claude CLI replaying recorded output', () => {
  it('a session with a tool call succeeds, with the usage and cost Claude reported', async () => {
    const { outcome, events, run } = await runFake('replay', 'stream-json-tool-success.jsonl');
    expect(outcome).toMatchObject({
      status: 'succeeded',
      provider: 'claude',
      providerSessionId: 'aec8d8ca-1b1a-4055-8b5e-a57fff641429',
      model: 'claude-sonnet-4-5',
      resultText: 'Done: hi',
      costUsd: 0.00225,
      numTurns: 2,
      usage: { input_tokens: 240, output_tokens: 37, cache_read_tokens: 2000, cache_creation_tokens: 100 },
    });
    expect(outcome.error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual([
      'session_started',
      'text',
      'usage',
      'tool_call',
      'tool_result',
      'text',
      'usage',
      'usage',
      'result',
    ]);
    expect(events).toContainEqual({
      type: 'tool_call',
      id: 'toolu_01',
      name: 'Bash',
      input: { command: 'echo hi', description: 'Say hi' },
    });
    expect(events).toContainEqual({ type: 'tool_result', id: 'toolu_01', output: 'hi', is_error: false });
    // The SDK drove the fake as it drives claude: stream-json both ways, bypassPermissions for a writer.
    const [call] = fakeCliCalls(run);
    expect(call?.argv).toEqual(
      expect.arrayContaining([
        '--output-format',
        'stream-json',
        '--input-format',
        '--permission-mode=bypassPermissions',
      ]),
    );
    expect(call?.stdin[0]).toContain('"subtype":"initialize"');
    expect(call?.stdin[1]).toContain('Say hi with a shell command.');
  });

  it('a read-only session disallows the write tools and does not bypass permissions', async () => {
    const { outcome, run } = await runFake('replay', 'stream-json-tool-success.jsonl', { readOnly: true, maxTurns: 3 });
    expect(outcome.status).toBe('succeeded');
    const argv = fakeCliCalls(run)[0]?.argv ?? [];
    expect(argv).toContain('--permission-mode=default');
    expect(argv).toContain('--disallowedTools=Write,Edit,MultiEdit,NotebookEdit');
    expect(argv).toContain('--max-turns=3');
    expect(argv.join(' ')).not.toContain('bypassPermissions');
    expect(argv.join(' ')).not.toContain('dangerously');
  });

  it('passes model, resume, MCP servers and the system prompt append through to the CLI', async () => {
    const { run } = await runFake('replay', 'stream-json-tool-success.jsonl', {
      model: 'claude-opus-4-8',
      resumeSessionId: 'aec8d8ca-1b1a-4055-8b5e-a57fff641429',
      systemPromptAppend: 'You are the builder.',
      mcpServers: { autodev: { command: 'node', args: ['mcp.js'] } },
    });
    const call = fakeCliCalls(run)[0];
    const argv = call?.argv.join(' ') ?? '';
    expect(argv).toContain('--model=claude-opus-4-8');
    expect(argv).toContain('--resume=aec8d8ca-1b1a-4055-8b5e-a57fff641429');
    expect(argv).toContain('"autodev":{"type":"stdio","command":"node","args":["mcp.js"]');
    expect(call?.stdin[0]).toContain('"appendSystemPrompt":"You are the builder."');
  });

  it('max turns ends failed with the reason Claude gave', async () => {
    const { outcome } = await runFake('replay', 'stream-json-error-max-turns.jsonl');
    expect(outcome).toMatchObject({
      status: 'failed',
      error: 'Reached maximum number of turns (1)',
      numTurns: 2,
      costUsd: 0.0012974999999999998,
    });
  });

  it('not logged in ends failed, not rate limited', async () => {
    const { outcome } = await runFake('replay', 'stream-json-not-logged-in.jsonl');
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe('Not logged in · Please run /login (authentication_failed)');
    expect(outcome.rateLimitResetsAt).toBeUndefined();
  });

  it.each(['stream-json-api-429-noretry.jsonl', 'stream-json-api-429-retries.jsonl'])(
    'an API 429 (%s) ends rate_limited with no known reset time',
    async (name) => {
      const { outcome, events } = await runFake('replay', name);
      expect(outcome).toMatchObject({ status: 'rate_limited', rateLimitResetsAt: null });
      expect(outcome.error).toContain('429');
      expect(events.filter((e) => e.type === 'rate_limit')).toHaveLength(1);
    },
  );

  it('a subscription limit ends rate_limited with the reset time from the rate_limit_event', async () => {
    const { outcome } = await runFake('replay', 'stream-json-subscription-limit.jsonl');
    expect(outcome).toMatchObject({
      status: 'rate_limited',
      rateLimitResetsAt: 1795484393_000,
      error: "You've hit your session limit · resets 1:39am (UTC)",
    });
  });

  it('a CLI that crashes mid-stream ends failed with the exit code and its stderr', async () => {
    const { outcome, events } = await runFake('crash', 'stream-json-tool-success.jsonl');
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^Claude Code exited before reporting a result: .*exited with code 1.*simulated crash/,
    );
    expect(outcome.providerSessionId).toBe('aec8d8ca-1b1a-4055-8b5e-a57fff641429');
    expect(events.at(-1)).toMatchObject({ type: 'error', fatal: true });
  });

  it('a hanging CLI is killed at once when the caller aborts', async () => {
    const run = fakeCliRun('hang', recording('claude', 'stream-json-tool-success.jsonl'));
    const provider = createClaudeProvider({ executable: FAKE_CLAUDE, killGraceMs: 1000 });
    const controller = new AbortController();
    const events: SessionEvent[] = [];
    const pending = provider.run(request(run, { signal: controller.signal }), (event) => {
      events.push(event);
    });
    const pid = await waitForPid(run);
    // The hanging CLI has said which session it is (the outcome names it), and is still running.
    await vi.waitUntil(() => events.some((event) => event.type === 'session_started'), { timeout: 10_000 });
    expect(isProcessAlive(pid)).toBe(true);
    const abortedAt = Date.now();
    controller.abort();
    const outcome = await pending;
    // The hang is endless: only the abort ends it, within the kill grace (1 s) and a margin for a loaded machine.
    expect(Date.now() - abortedAt).toBeLessThan(5_000);
    expect(outcome).toMatchObject({
      status: 'aborted',
      error: 'aborted',
      providerSessionId: 'aec8d8ca-1b1a-4055-8b5e-a57fff641429',
    });
    expect(await waitForExit(pid, 2000)).toBe(true);
  });

  it('an already aborted signal never starts the CLI', async () => {
    const controller = new AbortController();
    controller.abort();
    const { outcome, run } = await runFake('replay', 'stream-json-tool-success.jsonl', { signal: controller.signal });
    expect(outcome.status).toBe('aborted');
    expect(fakeCliCalls(run)).toEqual([]);
  });

  it('a session past its token budget is aborted with "token budget" and the CLI is gone', async () => {
    const { outcome, events, run } = await runFake('over-budget', undefined, { tokenBudget: 1_000_000 });
    expect(outcome).toMatchObject({ status: 'aborted', error: 'token budget' });
    expect(outcome.usage.input_tokens).toBeGreaterThan(1_000_000);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'error',
        fatal: true,
        message: expect.stringContaining('token budget exceeded'),
      }),
    );
    const pid = Number(readFileSync(run.pidFile, 'utf8'));
    expect(await waitForExit(pid, 2000)).toBe(true);
  });

  it('a slow stream is relayed event by event as it arrives', async () => {
    const run = fakeCliRun('slow', recording('claude', 'stream-json-tool-success.jsonl'), {
      FAKE_CLI_LINE_DELAY_MS: '120',
    });
    const provider = createClaudeProvider({ executable: FAKE_CLAUDE });
    const arrivals: number[] = [];
    const outcome = await provider.run(request(run), () => arrivals.push(Date.now()));
    expect(outcome.status).toBe('succeeded');
    // Six lines 120 ms apart: the first events arrive well before the last ones.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(400);
  });

  it('a missing executable fails with a message naming the setting', async () => {
    const run = fakeCliRun('replay');
    const provider = createClaudeProvider({ executable: '/nonexistent/claude' });
    const outcome = await provider.run(request(run), () => {});
    expect(outcome).toMatchObject({ status: 'failed' });
    expect(outcome.error).toContain('llm.providers.claude.executable');
  });

  it('an executable that cannot be started fails cleanly', async () => {
    const run = fakeCliRun('replay');
    const broken = path.join(run.dir, 'claude');
    writeFileSync(broken, '#!/nonexistent/interpreter\n');
    chmodSync(broken, 0o755);
    const outcome = await createClaudeProvider({ executable: broken, killGraceMs: 200 }).run(request(run), () => {});
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^Claude Code exited before reporting a result: .*(ENOENT|spawn)/);
  });

  it('a sink that throws aborts the session and rejects the run', async () => {
    const run = fakeCliRun('hang', recording('claude', 'stream-json-tool-success.jsonl'));
    const provider = createClaudeProvider({ executable: FAKE_CLAUDE, killGraceMs: 500 });
    await expect(
      provider.run(request(run), () => {
        throw new Error('database is gone');
      }),
    ).rejects.toThrow('database is gone');
    const pid = Number(readFileSync(run.pidFile, 'utf8'));
    expect(await waitForExit(pid, 2000)).toBe(true);
  });
});

describe('claude query options', () => {
  const base: SessionRequest = {
    prompt: 'p',
    cwd: '/w',
    env: { PATH: '/bin' },
    signal: new AbortController().signal,
    readOnly: false,
  };

  it('writers bypass permissions (Auto-Dev sandboxes the whole CLI)', () => {
    const options = claudeQueryOptions(base, { env: { ANTHROPIC_BASE_URL: 'http://gateway' } });
    expect(options).toMatchObject({
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      cwd: '/w',
    });
    expect(options.env).toEqual({ PATH: '/bin', ANTHROPIC_BASE_URL: 'http://gateway' });
    expect(options.disallowedTools).toBeUndefined();
  });

  it('read-only roles get no write tools, no bypass, and only read tools plus their MCP servers', () => {
    const options = claudeQueryOptions({ ...base, readOnly: true, mcpServers: { autodev: { command: 'x' } } }, {});
    expect(options.permissionMode).toBe('default');
    expect(options.allowDangerouslySkipPermissions).toBeUndefined();
    expect(options.disallowedTools).toEqual(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
    expect(options.allowedTools).toContain('mcp__autodev');
    expect(options.allowedTools).not.toContain('Bash');
  });
});
