/**
 * @module The demo's recorded sessions are plain, valid data that agree with reality: each parses, every
 * `submit_result` it makes passes its task type's contract, every tool call is answered (or carried out live), and the
 * file changes the builder sessions make, applied to the generated sample repository, give exactly the test counts
 * the tester sessions report (5 passed + 1 failed after the feature, 7 passed after the fix).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateResult } from '../../src/agents/result-contracts.js';
import { isTaskType } from '../../src/domain/roles.js';
import { DEMO_RECORDINGS, recordingFor, recordingsDir, roundOf } from '../../src/demo/recordings.js';
import { createSampleRepo, SAMPLE_INITIAL_TESTS } from '../../src/demo/sample-repo.js';
import { parseTestCounts } from '../../src/gates/test-counts.js';
import { parseRecordedSession, type RecordedLine } from '../../src/llm/replay-provider.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function load(file: string): RecordedLine[] {
  return parseRecordedSession(fs.readFileSync(path.join(recordingsDir(), file), 'utf8'), file);
}

function events(file: string) {
  return load(file).flatMap((line) => (line.kind === 'event' ? [line.event] : []));
}

function submitted(file: string): Record<string, unknown> {
  const call = events(file).find((e) => e.type === 'tool_call' && e.name === 'mcp__autodev__submit_result');
  if (!call || call.type !== 'tool_call') throw new Error(`${file} never calls submit_result`);
  return call.input as Record<string, unknown>;
}

/** Fills the placeholders the demo player fills, with plausible values. */
function filled(value: Record<string, unknown>): unknown {
  return JSON.parse(
    JSON.stringify(value)
      .replaceAll('{{branch}}', 'autodev/3-add-slugify')
      .replaceAll('{{head}}', 'a'.repeat(40))
      .replaceAll('{{task_id}}', '3'),
  );
}

function applyChanges(repo: string, file: string) {
  for (const line of load(file)) {
    if (line.kind !== 'file') continue;
    const target = path.join(repo, line.path);
    if (line.change === 'delete') fs.rmSync(target);
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, line.content ?? '');
    }
  }
}

function runTests(repo: string) {
  let output: string;
  try {
    output = execFileSync(process.execPath, ['--test'], { cwd: repo, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    output = (error as { stdout: string }).stdout;
  }
  return parseTestCounts(output);
}

describe('the demo recordings', () => {
  it.each(DEMO_RECORDINGS.map((entry) => [entry.file, entry] as const))(
    '%s parses, ends succeeded, answers its tool calls, and submits a valid result',
    (file, entry) => {
      const lines = load(file);
      const outcome = lines.at(-1);
      expect(outcome?.kind === 'outcome' && outcome.outcome.status).toBe('succeeded');
      const all = events(file);
      expect(all[0]).toMatchObject({ type: 'session_started' });
      expect(all.some((e) => e.type === 'thinking')).toBe(true);
      expect(all.some((e) => e.type === 'usage')).toBe(true);
      // Every tool call has its recorded result, except the calls the demo player carries out live.
      const live = (e: { name: string; input: unknown }) =>
        e.name.startsWith('mcp__autodev__') ||
        (e.name === 'Bash' &&
          /^git add -A && git commit -m "/.test(String((e.input as { command?: unknown }).command)));
      for (const call of all) {
        if (call.type !== 'tool_call' || live(call)) continue;
        expect(
          all.some((e) => e.type === 'tool_result' && e.id === call.id),
          `${file}: ${call.id}`,
        ).toBe(true);
      }
      expect(isTaskType(entry.taskType)).toBe(true);
      const checked = validateResult(entry.taskType as never, filled(submitted(file)));
      expect(checked.ok ? 'valid' : checked.reason).toBe('valid');
      expect(recordingFor(entry)).toBe(path.join(recordingsDir(), file));
    },
  );

  it('finds a recording per role, task type and round, and none for a round the story never has', () => {
    expect(recordingFor({ role: 'builder', taskType: 'implement_fix', round: 1 })).toMatch(/05-builder-implement-fix/);
    expect(recordingFor({ role: 'builder', taskType: 'implement_fix', round: 2 })).toBeUndefined();
    expect(recordingFor({ role: 'tester', taskType: 'run_tests', round: 0 })).toMatch(/04-tester-run-tests-round-0/);
    expect(roundOf({ round: 1 })).toBe(1);
    expect(roundOf({ round: 'x' })).toBe(0);
    expect(roundOf({})).toBe(0);
  });

  it('the builders change the real sample repository so that the tests give exactly what the testers report', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-demo-recordings-'));
    dirs.push(root);
    const { path: repo } = await createSampleRepo(path.join(root, 'sample-repo'));
    expect(runTests(repo)).toMatchObject({ passed: SAMPLE_INITIAL_TESTS, failed: 0 });

    applyChanges(repo, '03-builder-implement-feature.jsonl');
    const round0 = submitted('04-tester-run-tests-round-0.jsonl');
    expect(runTests(repo)).toMatchObject({ passed: round0.passed, failed: round0.failed, skipped: round0.skipped });
    expect(round0).toMatchObject({ passed: 5, failed: 1 });

    applyChanges(repo, '05-builder-implement-fix-round-1.jsonl');
    const round1 = submitted('06-tester-run-tests-round-1.jsonl');
    expect(runTests(repo)).toMatchObject({ passed: round1.passed, failed: round1.failed, skipped: round1.skipped });
    expect(round1).toMatchObject({ passed: 7, failed: 0 });

    // The test output the sessions show is the real runner's (its counts, its failing test).
    const shown = (file: string) =>
      events(file).flatMap((e) => (e.type === 'tool_result' && /^TAP version/.test(e.output) ? [e.output] : []));
    expect(parseTestCounts(shown('04-tester-run-tests-round-0.jsonl')[0] ?? '')).toMatchObject({
      passed: 5,
      failed: 1,
    });
    expect(parseTestCounts(shown('06-tester-run-tests-round-1.jsonl')[0] ?? '')).toMatchObject({
      passed: 7,
      failed: 0,
    });
  });

  it('every .jsonl in examples/recordings is either played by the demo or by the replay provider tests', () => {
    const files = fs.readdirSync(recordingsDir()).filter((f) => f.endsWith('.jsonl'));
    const played = new Set([...DEMO_RECORDINGS.map((e) => e.file), 'builder-implement-greeting.jsonl']);
    expect(files.filter((f) => !played.has(f))).toEqual([]);
    expect(DEMO_RECORDINGS.filter((e) => !files.includes(e.file))).toEqual([]);
  });
});
