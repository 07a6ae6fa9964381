/**
 * @module The claude provider driving the REAL Claude Code CLI (the native binary bundled with the Agent SDK) offline,
 * against a local mock of the Anthropic Messages API: SDK -> CLI -> Write and Bash tools -> files -> outcome.
 */
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClaudeProvider } from '../../src/llm/claude-provider.js';
import type { SessionEvent } from '../../src/llm/session-events.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/demo/scripted-model-server.js';

function bundledClaude(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(
      require.resolve(`@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/package.json`),
    );
    const binary = path.join(dir, 'claude');
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const CLAUDE = bundledClaude();

describe('claude provider: real Claude Code CLI against a mock Messages API', () => {
  it('the Claude Code binary bundled with the Agent SDK is installed', () => {
    expect(CLAUDE, 'npm ci installs @anthropic-ai/claude-agent-sdk with its platform binary').not.toBeNull();
  });

  let server: ScriptedModelServer;
  let scratch: string;
  let repo: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'autodev-real-claude-'));
    repo = path.join(scratch, 'repo');
    mkdirSync(repo);
    server = await startScriptedModelServer((request, step) => {
      if (JSON.stringify(request.messages).includes('READ ONLY')) {
        // A read-only reviewer whose model tries to write anyway: with a file tool, then through the shell.
        if (step === 0)
          return {
            kind: 'tool_use',
            id: 'toolu_ro_write',
            name: 'Write',
            input: { file_path: path.join(repo, 'evil.txt'), content: 'x' },
          };
        if (step === 1)
          return {
            kind: 'tool_use',
            id: 'toolu_ro_bash',
            name: 'Bash',
            input: { command: 'touch evil2.txt', description: 'Write anyway' },
          };
        return { kind: 'text', text: 'Review done.' };
      }
      if (step === 0) {
        return {
          kind: 'tool_use',
          id: 'toolu_write',
          name: 'Write',
          input: { file_path: path.join(repo, 'hello.txt'), content: 'hello from the mock model\n' },
        };
      }
      if (step === 1)
        return {
          kind: 'tool_use',
          id: 'toolu_bash',
          name: 'Bash',
          input: { command: 'cat hello.txt', description: 'Show the file' },
        };
      return { kind: 'text', text: 'Created hello.txt and printed it.' };
    });
  });

  afterAll(async () => {
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('writes a file, runs a command, and succeeds with usage and cost', async () => {
    const home = path.join(scratch, 'home');
    mkdirSync(home);
    // No executable configured: the provider uses the Claude Code binary bundled with the SDK.
    const provider = createClaudeProvider({ model: 'claude-sonnet-4-5' });
    const events: SessionEvent[] = [];
    const outcome = await provider.run(
      {
        prompt: 'Create hello.txt saying hello, then show it.',
        cwd: repo,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          ANTHROPIC_BASE_URL: server.baseUrl,
          ANTHROPIC_API_KEY: 'sk-ant-fake',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          IS_SANDBOX: '1',
        },
        signal: AbortSignal.timeout(60_000),
        readOnly: false,
        maxTurns: 10,
      },
      (event) => events.push(event),
    );

    expect(outcome, JSON.stringify(events, null, 1)).toMatchObject({
      status: 'succeeded',
      provider: 'claude',
      model: 'claude-sonnet-4-5',
      resultText: 'Created hello.txt and printed it.',
      numTurns: 3,
    });
    expect(outcome.providerSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(path.join(repo, 'hello.txt'), 'utf8')).toBe('hello from the mock model\n');
    expect(events).toContainEqual({ type: 'file_change', path: path.join(repo, 'hello.txt'), kind: 'add' });
    expect(events).toContainEqual({
      type: 'tool_call',
      id: 'toolu_bash',
      name: 'Bash',
      input: { command: 'cat hello.txt', description: 'Show the file' },
    });
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool_result',
        id: 'toolu_bash',
        is_error: false,
        output: expect.stringContaining('hello from the mock model'),
      }),
    );
    expect(outcome.usage.input_tokens).toBeGreaterThanOrEqual(300);
    expect(outcome.costUsd).toBeGreaterThan(0);
    expect(server.agentRequests.length).toBe(3);
  }, 90_000);

  it('a read-only session cannot write: no write tools offered, writes and shell are denied', async () => {
    const home = path.join(scratch, 'home-ro');
    mkdirSync(home);
    const before = server.agentRequests.length;
    const events: SessionEvent[] = [];
    const outcome = await createClaudeProvider({ model: 'claude-sonnet-4-5' }).run(
      {
        prompt: 'READ ONLY: review the repository.',
        cwd: repo,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          ANTHROPIC_BASE_URL: server.baseUrl,
          ANTHROPIC_API_KEY: 'sk-ant-fake',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        },
        signal: AbortSignal.timeout(60_000),
        readOnly: true,
      },
      (event) => events.push(event),
    );
    expect(outcome, JSON.stringify(events, null, 1)).toMatchObject({ status: 'succeeded', resultText: 'Review done.' });
    const offered = (server.agentRequests[before]?.tools ?? []).map((tool) => tool.name);
    expect(offered).toContain('Read');
    for (const tool of ['Write', 'Edit', 'NotebookEdit']) expect(offered).not.toContain(tool);
    const results = events.filter((e) => e.type === 'tool_result');
    expect(results.map((r) => r.type === 'tool_result' && r.is_error)).toEqual([true, true]);
    expect(existsSync(path.join(repo, 'evil.txt'))).toBe(false);
    expect(existsSync(path.join(repo, 'evil2.txt'))).toBe(false);
  }, 90_000);
});
