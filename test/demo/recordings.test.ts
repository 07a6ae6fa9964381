/**
 * @module The demo's recorded sessions are plain, valid data that agree with reality: each parses and reads as the
 * stand-in model's script (recorded-scripts.ts: one step per recorded tool call, the recorded usage split over the
 * turns, the label first), every `submit_result` it makes passes its task type's contract once its placeholders are
 * filled the way the stand-in fills them, and the file changes the builder sessions make, applied to the generated
 * sample repository, give exactly the test counts the tester sessions report (5 passed + 1 failed after the feature,
 * 7 passed after the fix). Recordings the stand-in cannot play are refused with the reason.
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
import { renderTaskPrompt } from '../../src/agents/render-prompt.js';
import {
  demoScriptChooser,
  HEAD_COMMAND,
  loadDemoScripts,
  promptPayload,
  scriptFromRecording,
  standInLabel,
} from '../../src/demo/recorded-scripts.js';
import { promptFacts, type AgentStep, type StepContext, type ToolOutcome } from '../../src/demo/scripted-agent.js';
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

const HEAD = 'a'.repeat(40);

/** The input of a script's submit_result step, filled as the stand-in fills it (each git rev-parse printing HEAD). */
function submittedByScript(steps: AgentStep[]): unknown {
  const results: ToolOutcome[] = steps.map((step) =>
    'bash' in step && step.bash === HEAD_COMMAND
      ? { output: `${HEAD}\n`, isError: false, exitCode: 0 }
      : { output: 'ok', isError: false, exitCode: 0 },
  );
  const context: StepContext = {
    prompt: '',
    facts: { readOnly: false, branch: 'autodev/3-add-slugify', taskId: 3 },
    results,
  };
  const step = steps.find((s) => 'mcp' in s && s.mcp.tool === 'submit_result');
  if (!step || !('mcp' in step)) throw new Error('no submit_result step');
  const input = step.mcp.input;
  return typeof input === 'function' ? input(context) : input;
}

function usageTotal(steps: AgentStep[]) {
  return steps.reduce(
    (sum, step) => ({
      input_tokens: sum.input_tokens + (step.usage?.input_tokens ?? 0),
      output_tokens: sum.output_tokens + (step.usage?.output_tokens ?? 0),
      cache_read_tokens: sum.cache_read_tokens + (step.usage?.cache_read_tokens ?? 0),
      cache_creation_tokens: sum.cache_creation_tokens + (step.usage?.cache_creation_tokens ?? 0),
    }),
    { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0 },
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
    "%s parses, ends succeeded, reads as the stand-in model's script, and submits a valid result",
    (file, entry) => {
      const lines = load(file);
      const outcome = lines.at(-1);
      expect(outcome?.kind === 'outcome' && outcome.outcome.status).toBe('succeeded');
      const all = events(file);
      expect(all[0]).toMatchObject({ type: 'session_started' });
      expect(all.some((e) => e.type === 'thinking')).toBe(true);

      const steps = scriptFromRecording(fs.readFileSync(path.join(recordingsDir(), file), 'utf8'), file);
      // One step per recorded tool call (plus the reads Claude Code wants before replacing a file), then the closing text.
      const calls = all.filter((e) => e.type === 'tool_call');
      const reads = steps.filter((step) => 'read' in step).length;
      const recordedReads = calls.filter((c) => c.type === 'tool_call' && c.name === 'Read').length;
      expect(steps.length).toBe(calls.length + (reads - recordedReads) + 1);
      expect(steps[0]?.preface?.startsWith(standInLabel(file))).toBe(true);
      expect(steps.at(-1)).toMatchObject({
        say: outcome?.kind === 'outcome' ? outcome.outcome.resultText : '',
      });
      // The turns' usage adds up to the recording's last running total.
      const last = [...all].reverse().find((e) => e.type === 'usage');
      expect(last?.type).toBe('usage');
      if (last?.type === 'usage') {
        const { type: _type, cost_usd: _cost, ...total } = last;
        expect(usageTotal(steps)).toEqual(total);
      }

      expect(isTaskType(entry.taskType)).toBe(true);
      const checked = validateResult(entry.taskType as never, submittedByScript(steps));
      expect(checked.ok ? 'valid' : checked.reason).toBe('valid');
      expect(recordingFor(entry)).toBe(path.join(recordingsDir(), file));
    },
  );

  it('the builders read a file before replacing it, and submit the sha their own git rev-parse HEAD printed', () => {
    const file = '05-builder-implement-fix-round-1.jsonl';
    const steps = scriptFromRecording(fs.readFileSync(path.join(recordingsDir(), file), 'utf8'), file);
    const kinds = steps.map((step) =>
      Object.keys(step).find((k) => ['bash', 'read', 'write', 'mcp', 'say'].includes(k)),
    );
    const firstWrite = kinds.indexOf('write');
    expect(kinds[firstWrite - 1]).toBe('read');
    expect(steps[firstWrite - 1]).toMatchObject({ read: 'src/slugify.js' });
    const submitted = submittedByScript(steps) as { branch: string; commits: { sha: string }[] };
    expect(submitted.branch).toBe('autodev/3-add-slugify');
    expect(submitted.commits[0]?.sha).toBe(HEAD);
  });

  it('refuses recordings the stand-in cannot play, naming the file and the reason', () => {
    const session = (...lines: object[]) =>
      [
        JSON.stringify({ type: 'session_started', provider_session_id: 'x', model: 'm' }),
        ...lines.map((l) => JSON.stringify(l)),
        JSON.stringify({ type: 'outcome', status: 'succeeded', resultText: 'done' }),
      ].join('\n');
    expect(() =>
      scriptFromRecording(session({ type: 'tool_call', id: 't1', name: 'WebFetch', input: {} }), 'a.jsonl'),
    ).toThrow(/a\.jsonl: the stand-in cannot play a WebFetch tool call/);
    expect(() =>
      scriptFromRecording(
        session({ type: 'tool_call', id: 't1', name: 'Write', input: { file_path: 'x.js' } }),
        'b.jsonl',
      ),
    ).toThrow(/b\.jsonl: the Write of x\.js must be followed by its file_change line/);
    expect(() =>
      scriptFromRecording(
        session({ type: 'tool_call', id: 't1', name: 'mcp__autodev__submit_result', input: { sha: '{{head}}' } }),
        'c.jsonl',
      ),
    ).toThrow(/c\.jsonl: \{\{head\}\} is used before any `git rev-parse HEAD` call/);
    expect(() =>
      scriptFromRecording(
        session({ type: 'tool_call', id: 't1', name: 'Bash', input: { command: 'echo {{secret}}' } }),
        'd.jsonl',
      ),
    ).toThrow(/d\.jsonl: unknown placeholder \{\{secret\}\}/);
  });

  it('chooses the script from the prompt Auto-Dev renders (task type and round), and refuses a round it has none for', async () => {
    const scripts = await loadDemoScripts(recordingsDir());
    const choose = demoScriptChooser(scripts, recordingsDir());
    const prompt = (round: number) =>
      renderTaskPrompt({
        role: 'builder',
        rolePrompt: 'Build.',
        task: { id: 7, type: 'implement_fix', priority: 5, payload: { round, branch: 'autodev/3-x' }, attempts: 1 },
        context: { branch: 'autodev/7-x', worktree: '/w', readOnly: false },
      });
    expect(promptPayload(prompt(1))).toMatchObject({ round: 1 });
    expect(choose(prompt(1), promptFacts(prompt(1)))).toBe(scripts.get('05-builder-implement-fix-round-1.jsonl'));
    expect(() => choose(prompt(2), promptFacts(prompt(2)))).toThrow(
      /no recorded session for builder implement_fix round 2/,
    );
  });

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
