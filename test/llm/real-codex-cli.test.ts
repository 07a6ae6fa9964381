/**
 * @module The codex provider driving the REAL Codex CLI (the installed @openai/codex) through the SDK, offline,
 * against a local mock of the OpenAI Responses API: SDK -> CLI -> apply_patch and shell tools -> files -> outcome.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodexProvider } from '../../src/llm/codex-provider.js';
import type { SessionEvent } from '../../src/llm/session-events.js';
import {
  applyPatchAddFile,
  assistantMessage,
  shellCall,
  startMockResponsesServer,
  type MockResponsesServer,
} from '../support/mock-responses-server.js';

const CODEX = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/.bin/codex');

/** Whether Codex's own workspace-write sandbox can write here (it needs a working bubblewrap). */
function codexSandboxWorks(repo: string, home: string): boolean {
  const probe = path.join(repo, '.sandbox-probe');
  try {
    execFileSync(CODEX, ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'sh', '-c', `echo ok > ${probe}`], {
      cwd: repo,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: path.join(home, 'tmp') },
      stdio: 'ignore',
      timeout: 30_000,
    });
    return existsSync(probe);
  } catch {
    return false;
  } finally {
    rmSync(probe, { force: true });
  }
}

describe('codex provider: real Codex CLI against a mock Responses API', () => {
  it('the Codex CLI is installed', () => {
    expect(existsSync(CODEX), `npm ci installs @openai/codex (${CODEX})`).toBe(true);
  });

  let server: MockResponsesServer;
  let scratch: string;

  beforeAll(async () => {
    server = await startMockResponsesServer((request, step) => {
      if (step === 0) return applyPatchAddFile('call_patch', 'hello.txt', ['hello from the mock model']);
      if (step === 1) return shellCall(request, 'call_shell', 'cat hello.txt');
      return assistantMessage('Created hello.txt and printed it.');
    });
    scratch = mkdtempSync(path.join(os.tmpdir(), 'autodev-real-codex-'));
  });

  afterAll(async () => {
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('writes a file with apply_patch, runs a shell command, and succeeds', async () => {
    const repo = path.join(scratch, 'repo');
    const home = path.join(scratch, 'home');
    // Codex keeps its state in CODEX_HOME (HOME/.codex) and will not set up its Linux sandbox helpers inside the
    // temp directory, so TMPDIR points below the throwaway home.
    mkdirSync(path.join(home, 'tmp'), { recursive: true });
    mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });

    const writerSandbox = codexSandboxWorks(repo, home) ? 'workspace-write' : 'danger-full-access';
    if (writerSandbox !== 'workspace-write') {
      console.warn(
        'Codex cannot set up its Linux sandbox here (no usable bubblewrap?): running with danger-full-access',
      );
    }
    const provider = createCodexProvider({
      executable: CODEX,
      writerSandbox,
      model: 'gpt-5.5',
      config: {
        model_provider: 'mock',
        model_providers: {
          mock: { name: 'mock', base_url: server.baseUrl, wire_api: 'responses', env_key: 'MOCK_KEY' },
        },
      },
    });
    const events: SessionEvent[] = [];
    const outcome = await provider.run(
      {
        prompt: 'Create hello.txt saying hello, then show it.',
        cwd: repo,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          TMPDIR: path.join(home, 'tmp'),
          MOCK_KEY: 'sk-mock',
        },
        signal: AbortSignal.timeout(60_000),
        readOnly: false,
      },
      (event) => events.push(event),
    );

    expect(outcome, JSON.stringify(events, null, 1)).toMatchObject({
      status: 'succeeded',
      provider: 'codex',
      model: 'gpt-5.5',
      resultText: 'Created hello.txt and printed it.',
    });
    expect(outcome.providerSessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(path.join(repo, 'hello.txt'), 'utf8')).toBe('hello from the mock model\n');
    expect(events).toContainEqual({ type: 'file_change', path: path.join(repo, 'hello.txt'), kind: 'add' });
    const command = events.find((e) => e.type === 'command');
    expect(command).toMatchObject({
      type: 'command',
      exit_code: 0,
      output: expect.stringContaining('hello from the mock model'),
    });
    // Three model calls, each reporting 1000 input (200 cached) and 50 output tokens.
    expect(outcome.usage).toEqual({
      input_tokens: 2400,
      cache_read_tokens: 600,
      cache_creation_tokens: 0,
      output_tokens: 150,
    });
    expect(server.requests).toHaveLength(3);
    expect(server.requests[0]?.model).toBe('gpt-5.5');
  }, 90_000);
});
