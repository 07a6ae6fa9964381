/**
 * @module The codex provider driving the real @openai/codex-sdk against a fake Codex CLI that replays recorded
 * `exec --json` output (and crashes or hangs on request).
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { codexConfig, codexThreadOptions, createCodexProvider } from '../../src/llm/codex-provider.js';
import type { SessionRequest } from '../../src/llm/provider.js';
import type { SessionEvent } from '../../src/llm/session-events.js';
import {
  FAKE_CODEX,
  fakeCliCalls,
  fakeCliRun,
  isProcessAlive,
  recording,
  waitForExit,
  waitForPid,
  type FakeCliRun,
  type FakeScenario,
} from '../support/fake-cli/fake-cli-harness.js';

// 2026-11-24 00:35 UTC, when the recordings were made.
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

async function runFake(
  scenario: FakeScenario,
  recordingName?: string,
  overrides: Partial<SessionRequest> = {},
  extraEnv: Record<string, string> = {},
) {
  const run = fakeCliRun(scenario, recordingName ? recording('codex', recordingName) : undefined, extraEnv);
  const provider = createCodexProvider({
    executable: FAKE_CODEX,
    model: 'gpt-5.5',
    config: {
      model_reasoning_summary: 'concise',
      model_providers: { mock: { name: 'mock', base_url: 'http://127.0.0.1:9/v1' } },
    },
    now: () => RECORDED_AT,
    timeZone: 'UTC',
    settleMs: 1000,
  });
  const events: SessionEvent[] = [];
  const outcome = await provider.run(request(run, overrides), (event) => events.push(event));
  return { run, events, outcome };
}

describe('codex provider: fake codex CLI replaying recorded output', () => {
  it('a command session succeeds with the final message and usage', async () => {
    const { outcome, events, run } = await runFake('replay', 'exec-json-command.jsonl');
    expect(outcome).toMatchObject({
      status: 'succeeded',
      provider: 'codex',
      providerSessionId: '01a20afc-49dd-76e0-b8ce-03a2e82af565',
      model: 'gpt-5.5',
      resultText: 'Done: hi',
      costUsd: null,
      usage: { input_tokens: 400, cache_read_tokens: 2000, cache_creation_tokens: 0, output_tokens: 80 },
    });
    expect(events.map((e) => e.type)).toEqual(['session_started', 'thinking', 'command', 'text', 'usage', 'result']);
    expect(events).toContainEqual({
      type: 'command',
      command: "/bin/bash -lc 'echo hi'",
      exit_code: 0,
      output: 'hi\n',
    });
    // The SDK drove the fake as it drives codex: exec --experimental-json, flags, the prompt on stdin.
    const [call] = fakeCliCalls(run);
    expect(call?.stdin).toEqual(['Say hi with a shell command.']);
    const argv = call?.argv.join(' ') ?? '';
    expect(argv).toMatch(/^exec --experimental-json /);
    expect(argv).toContain('--model gpt-5.5');
    expect(argv).toContain('--sandbox workspace-write');
    expect(argv).toContain(`--cd ${run.dir}`);
    expect(argv).toContain('--skip-git-repo-check');
    expect(argv).toContain('--config approval_policy="never"');
    // Settings' config overrides reach the CLI as --config flags.
    expect(argv).toContain('--config model_reasoning_summary="concise"');
    expect(argv).toContain('--config model_providers.mock.base_url="http://127.0.0.1:9/v1"');
  });

  it('read-only roles get the read-only sandbox; resume, instructions and MCP servers pass through', async () => {
    const { run, outcome } = await runFake('replay', 'exec-json-command.jsonl', {
      readOnly: true,
      resumeSessionId: '01a20afc-49dd-76e0-b8ce-03a2e82af565',
      systemPromptAppend: 'You are the reviewer.',
      mcpServers: { autodev: { command: 'node', args: ['mcp.js'] } },
    });
    expect(outcome.status).toBe('succeeded');
    const argv = fakeCliCalls(run)[0]?.argv ?? [];
    const joined = argv.join(' ');
    expect(joined).toContain('--sandbox read-only');
    expect(joined).toContain('--config developer_instructions="You are the reviewer."');
    expect(joined).toContain('--config mcp_servers.autodev.command="node"');
    // Codex waits for Auto-Dev's MCP server before the first model request (see codexConfig).
    expect(joined).toContain('--config mcp_servers.autodev.required=true');
    expect(argv.slice(-2)).toEqual(['resume', '01a20afc-49dd-76e0-b8ce-03a2e82af565']);
  });

  it('a usage limit ends rate_limited ("try again later": no reset time)', async () => {
    const { outcome, events } = await runFake('replay', 'exec-json-usage-limit.jsonl');
    expect(outcome).toMatchObject({ status: 'rate_limited', rateLimitResetsAt: null });
    expect(outcome.error).toContain('hit your usage limit');
    expect(events.filter((e) => e.type === 'rate_limit')).toHaveLength(1);
  });

  it('a usage limit with "try again at 1:37 AM" ends rate_limited with that reset time', async () => {
    const run = fakeCliRun('replay');
    const file = `${run.dir}/usage-limit-at.jsonl`;
    const message =
      "You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro) or try again at 1:37 AM.";
    const lines = [
      { type: 'thread.started', thread_id: 't-limit' },
      { type: 'turn.started' },
      { type: 'error', message },
      { type: 'turn.failed', error: { message } },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    const provider = createCodexProvider({ executable: FAKE_CODEX, now: () => RECORDED_AT, timeZone: 'UTC' });
    const outcome = await provider.run(request(run, { env: { ...run.env, FAKE_CLI_RECORDING: file } }), () => {});
    expect(outcome).toMatchObject({ status: 'rate_limited', rateLimitResetsAt: Date.UTC(2026, 10, 24, 1, 37) });
  });

  it('429 retries exhausted ends rate_limited with no reset time', async () => {
    const { outcome } = await runFake('replay', 'exec-json-429-retry-exhausted.jsonl');
    expect(outcome).toMatchObject({
      status: 'rate_limited',
      rateLimitResetsAt: null,
      error: 'exceeded retry limit, last status: 429 Too Many Requests',
      providerSessionId: '01a20afc-650b-7f62-9d5b-e59ffa0bc69a',
    });
  });

  it('a CLI that crashes mid-stream ends failed with the exit code and its stderr', async () => {
    const { outcome } = await runFake('crash', 'exec-json-command.jsonl');
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^Codex exited before finishing the turn: Codex Exec exited with code 1: .*simulated crash/,
    );
    expect(outcome.providerSessionId).toBe('01a20afc-49dd-76e0-b8ce-03a2e82af565');
  });

  it('a hanging CLI is killed quickly when the caller aborts', async () => {
    const run = fakeCliRun('hang', recording('codex', 'exec-json-command.jsonl'));
    const provider = createCodexProvider({ executable: FAKE_CODEX, settleMs: 1000 });
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
      providerSessionId: '01a20afc-49dd-76e0-b8ce-03a2e82af565',
    });
    expect(await waitForExit(pid, 2000)).toBe(true);
  });

  it('a slow stream is relayed event by event as it arrives', async () => {
    const run = fakeCliRun('slow', recording('codex', 'exec-json-command.jsonl'), { FAKE_CLI_LINE_DELAY_MS: '120' });
    const arrivals: number[] = [];
    const outcome = await createCodexProvider({ executable: FAKE_CODEX }).run(request(run), () =>
      arrivals.push(Date.now()),
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.durationMs).toBeGreaterThan(700);
    // Seven lines 120 ms apart: the first events arrive well before the last ones.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(400);
  });

  it('the token budget cannot stop a Codex turn midway (Codex reports tokens only at the end): a finished turn stands', async () => {
    const { outcome } = await runFake('replay', 'exec-json-command.jsonl', { tokenBudget: 100 });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.usage.input_tokens + outcome.usage.output_tokens).toBeGreaterThan(100);
  });

  it('a missing executable fails with a message naming the setting', async () => {
    const run = fakeCliRun('replay');
    const outcome = await createCodexProvider({ executable: 'no-such-codex-cli' }).run(request(run), () => {});
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain('llm.providers.codex.executable');
  });
});

describe('codex config and thread options', () => {
  const base: SessionRequest = {
    prompt: 'p',
    cwd: '/w',
    env: {},
    signal: new AbortController().signal,
    readOnly: false,
  };

  it('keeps the configured overrides and appends instructions after configured ones', () => {
    const config = codexConfig(
      { ...base, systemPromptAppend: 'Be brief.', mcpServers: { a: { command: 'x', env: { K: 'v' } } } },
      { config: { developer_instructions: 'House rules.', mcp_servers: { b: { command: 'y' } } } },
    );
    expect(config).toEqual({
      developer_instructions: 'House rules.\n\nBe brief.',
      mcp_servers: { b: { command: 'y' }, a: { command: 'x', args: [], env: { K: 'v' }, required: true } },
    });
  });

  it('never asks for approval; read-only roles get the read-only sandbox', () => {
    expect(codexThreadOptions({ ...base, readOnly: true }, { model: 'm' })).toEqual({
      sandboxMode: 'read-only',
      workingDirectory: '/w',
      skipGitRepoCheck: true,
      approvalPolicy: 'never',
      model: 'm',
    });
    expect(codexThreadOptions(base, {}).sandboxMode).toBe('workspace-write');
    // Inside Auto-Dev's own sandbox a writer may run Codex unsandboxed; a read-only role only when told so apart.
    expect(codexThreadOptions(base, { writerSandbox: 'danger-full-access' }).sandboxMode).toBe('danger-full-access');
    expect(codexThreadOptions({ ...base, readOnly: true }, { writerSandbox: 'danger-full-access' }).sandboxMode).toBe(
      'read-only',
    );
    expect(codexThreadOptions({ ...base, readOnly: true }, { readerSandbox: 'danger-full-access' }).sandboxMode).toBe(
      'danger-full-access',
    );
    expect(codexThreadOptions(base, { readerSandbox: 'danger-full-access' }).sandboxMode).toBe('workspace-write');
  });
});
