/**
 * @module The demo player on its own, with real git and the real session MCP server: it plays the recording chosen by
 * the session's context, commits for real where the recording commits, gets `result.json` written by `submit_result`
 * with the real branch and commit filled in, puts the real answers in the transcript instead of recorded ones, and
 * refuses plainly when there is no recording for the request.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resultJsonSchema } from '../../src/agents/result-contracts.js';
import { createDemoPlayer } from '../../src/demo/demo-player.js';
import { recordingsDir } from '../../src/demo/recordings.js';
import { createSampleRepo } from '../../src/demo/sample-repo.js';
import type { SessionRequest } from '../../src/llm/provider.js';
import type { SessionEvent } from '../../src/llm/session-events.js';
import { mcpServerSpec } from '../../src/mcp/run-mcp-stdio.js';
import { readSessionResult, writeSessionContext } from '../../src/mcp/session-files.js';
import { gitIn } from './demo-fixtures.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

async function session(task: { type: 'implement_feature' | 'implement_fix'; round: number }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-demo-player-'));
  roots.push(root);
  const { path: repo } = await createSampleRepo(path.join(root, 'repo'));
  const branch = 'autodev/3-add-slugify';
  gitIn(repo, 'switch', '--quiet', '-c', branch);
  const sessionDir = path.join(root, 'session');
  await writeSessionContext(sessionDir, {
    task: { id: 3, type: task.type, priority: 5, payload: { round: task.round }, attempts: 1 },
    role: 'builder',
    repo: { name: 'demo-sample', default_branch: 'main' },
    branch,
    result_schema: resultJsonSchema(task.type),
  });
  const request: SessionRequest = {
    prompt: 'implement the spec',
    cwd: repo,
    env: {},
    signal: new AbortController().signal,
    readOnly: false,
    mcpServers: { autodev: mcpServerSpec({ nodePath: process.execPath, cliEntry: 'autodev.js', sessionDir }) },
  };
  return { repo, branch, sessionDir, request };
}

describe('the demo player', () => {
  it('plays the builder recording: real files, a real commit, result.json from the real submit_result', async () => {
    const s = await session({ type: 'implement_feature', round: 0 });
    const events: SessionEvent[] = [];
    const player = createDemoPlayer({ recordingsDir: recordingsDir(), delayMs: 0 });
    const outcome = await player.run(s.request, (e) => events.push(e));

    expect(outcome).toMatchObject({ status: 'succeeded', provider: 'replay', model: 'claude-sonnet-4-5' });
    expect(events[0]).toEqual({ type: 'text', text: '[replayed session: 03-builder-implement-feature.jsonl]' });

    const head = gitIn(s.repo, 'rev-parse', 'HEAD');
    expect(gitIn(s.repo, 'log', '-1', '--format=%an|%s')).toBe(
      'Auto-Dev builder (replayed)|Add slugify(text) with tests',
    );
    expect(gitIn(s.repo, 'show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual([
      'src/slugify.js',
      'test/slugify.test.js',
    ]);
    expect(gitIn(s.repo, 'status', '--porcelain')).toBe('');

    const submitted = await readSessionResult(s.sessionDir);
    expect(submitted?.result).toMatchObject({
      status: 'done',
      branch: s.branch,
      commits: [{ sha: head, message: 'Add slugify(text) with tests' }],
      files_changed: ['src/slugify.js', 'test/slugify.test.js'],
    });

    // Each tool call has exactly one result; the live ones carry the real answers, with placeholders filled.
    const calls = events.filter((e) => e.type === 'tool_call');
    for (const call of calls) {
      expect(events.filter((e) => e.type === 'tool_result' && e.id === call.id)).toHaveLength(1);
    }
    const resultOf = (name: string) => {
      const call = calls.find((c) => c.name === name);
      return events.find((e) => e.type === 'tool_result' && e.id === call?.id) as
        Extract<SessionEvent, { type: 'tool_result' }> | undefined;
    };
    expect(resultOf('Bash')?.output).toContain(`[${s.branch} ${head.slice(0, 7)}] Add slugify(text) with tests`);
    expect(resultOf('mcp__autodev__read_task')?.output).toContain('Task #3 (implement_feature');
    expect(resultOf('mcp__autodev__submit_result')?.is_error).toBe(false);
    const submit = calls.find((c) => c.name === 'mcp__autodev__submit_result');
    expect(JSON.stringify(submit)).not.toContain('{{');
    expect(JSON.stringify(submit)).toContain(head);
  });

  it('a request the demo has no recording for fails plainly, changing nothing', async () => {
    const s = await session({ type: 'implement_fix', round: 2 });
    const before = gitIn(s.repo, 'rev-parse', 'HEAD');
    const events: SessionEvent[] = [];
    const outcome = await createDemoPlayer({ recordingsDir: recordingsDir(), delayMs: 0 }).run(s.request, (e) =>
      events.push(e),
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/^the demo has no recorded session for builder implement_fix round 2 /);
    expect(events).toEqual([{ type: 'error', fatal: true, message: outcome.error }]);
    expect(gitIn(s.repo, 'rev-parse', 'HEAD')).toBe(before);
    expect(await readSessionResult(s.sessionDir)).toBeUndefined();
  });
});
