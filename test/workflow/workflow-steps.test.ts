/**
 * @module Unit tests of the pure story workflow: every transition, the gate join, fix rounds and their limits.
 */
import { describe, expect, it } from 'vitest';
import {
  initialStoryState,
  squashReason,
  stepStory,
  type StoryCommand,
  type StoryEvent,
  type StoryState,
} from '../../src/workflow/workflow-steps.js';

const OPTIONS = { maxFixRounds: 2 };

const STORY = { status: 'done', summary: 's', stories: [{ title: 'T', body: 'B', acceptance_criteria: ['works'] }] };
const SPEC = {
  status: 'done',
  summary: 's',
  spec_markdown: '# Spec',
  files_to_touch: ['a.ts'],
  test_plan: 't',
  risks: [],
};
const impl = (sha: string) => ({
  status: 'done',
  summary: 's',
  branch: 'autodev/1-x',
  commits: [{ sha, message: 'm' }],
  files_changed: ['a.ts'],
});
const REVIEW_OK = { status: 'done', summary: 's', verdict: 'approve', findings: [] };
const REVIEW_CHANGES = {
  status: 'done',
  summary: 's',
  verdict: 'request_changes',
  findings: [{ severity: 'major', file: 'a.ts', line: 3, message: 'rename x' }],
};
const TESTS_OK = { status: 'done', summary: 's', command: 'npm test', passed: 3, failed: 0, skipped: 0, failures: [] };
const TESTS_FAIL = {
  status: 'done',
  summary: 's',
  command: 'npm test',
  passed: 2,
  failed: 1,
  skipped: 0,
  failures: [{ name: 'adds', message: 'expected 3' }],
};
const SEC_OK = { status: 'done', summary: 's', verdict: 'pass', findings: [] };

let nextId = 1;
const done = (taskType: Extract<StoryEvent, { type: 'task_completed' }>['taskType'], result: unknown, extra = {}) =>
  ({ type: 'task_completed', taskId: nextId++, taskType, result, ...extra }) as StoryEvent;

function run(events: StoryEvent[], state = initialStoryState('Add sum', 'Sum two numbers')) {
  const all: StoryCommand[][] = [];
  for (const event of events) {
    const out = stepStory(state, event, OPTIONS);
    state = out.state;
    all.push(out.commands);
  }
  return { state, commands: all };
}

const enqueued = (commands: StoryCommand[]) => commands.flatMap((c) => (c.kind === 'enqueue' ? [c.taskType] : []));

/** Through the spec approval to the first round of gates. */
const toGates: StoryEvent[] = [
  { type: 'started' },
  done('create_user_story', STORY),
  done('write_spec', SPEC),
  { type: 'approval_decided', kind: 'spec', decision: 'approved', reason: null },
  done('implement_feature', impl('aaaaaaa'), { round: 0 }),
];

describe('stepStory', () => {
  it('runs the happy path from the PM to a completed deployment', () => {
    const { state, commands } = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0 }),
      { type: 'approval_decided', kind: 'merge', decision: 'approved', reason: null },
      { type: 'merged', sha: 'bbbbbbb' },
      done('deploy', {
        status: 'done',
        summary: 's',
        environment: 'prod',
        outcome: 'succeeded',
        steps: [],
        rollback: 'r',
      }),
    ]);
    expect(enqueued(commands[0]!)).toEqual(['create_user_story']);
    expect(enqueued(commands[1]!)).toEqual(['write_spec']);
    expect(commands[2]).toEqual([
      expect.objectContaining({ kind: 'open_approval', approvalKind: 'spec', body: '# Spec' }),
    ]);
    expect(enqueued(commands[3]!)).toEqual(['implement_feature']);
    expect(enqueued(commands[4]!)).toEqual(['review_mr', 'run_tests', 'security_scan']);
    expect(commands[5]).toEqual([]);
    expect(commands[6]).toEqual([]);
    expect(commands[7]).toEqual([expect.objectContaining({ kind: 'open_approval', approvalKind: 'merge' })]);
    expect(commands[8]).toEqual([{ kind: 'merge' }]);
    expect(enqueued(commands[9]!)).toEqual(['deploy']);
    expect(state).toMatchObject({ stage: 'done', status: 'completed', branch: 'autodev/1-x', fixRounds: 0 });
  });

  it('sends a rejected spec back to the architect with the reason, then goes on when approved', () => {
    const { state, commands } = run([
      { type: 'started' },
      done('create_user_story', STORY),
      done('write_spec', SPEC),
      { type: 'approval_decided', kind: 'spec', decision: 'rejected', reason: 'no error handling' },
      done('write_spec', SPEC),
      { type: 'approval_decided', kind: 'spec', decision: 'approved', reason: null },
    ]);
    expect(commands[3]).toEqual([
      expect.objectContaining({
        kind: 'enqueue',
        taskType: 'write_spec',
        payload: expect.objectContaining({ rejection_reason: 'no error handling' }),
      }),
    ]);
    expect(commands[4]![0]).toMatchObject({ kind: 'open_approval', approvalKind: 'spec' });
    expect(enqueued(commands[5]!)).toEqual(['implement_feature']);
    expect(state).toMatchObject({ stage: 'implement', specRejections: ['no error handling'] });
  });

  it('joins the fan-out only when all three gates of the round are in, in any order', () => {
    const base = run(toGates).state;
    const first = stepStory(base, done('security_scan', SEC_OK, { round: 0 }), OPTIONS);
    expect(first.commands).toEqual([]);
    const second = stepStory(first.state, done('run_tests', TESTS_OK, { round: 0 }), OPTIONS);
    expect(second.commands).toEqual([]);
    expect(second.state.stage).toBe('gates');
    const third = stepStory(second.state, done('review_mr', REVIEW_OK, { round: 0 }), OPTIONS);
    expect(third.state.stage).toBe('merge_approval');
  });

  it('ignores a duplicate or stale gate completion', () => {
    const base = run(toGates).state;
    const once = stepStory(base, done('run_tests', TESTS_OK, { round: 0 }), OPTIONS);
    const twice = stepStory(once.state, done('run_tests', TESTS_FAIL, { round: 0 }), OPTIONS);
    expect(twice.applied).toBe(false);
    expect(twice.state).toBe(once.state);
    const stale = stepStory(once.state, done('review_mr', REVIEW_OK, { round: 7 }), OPTIONS);
    expect(stale.applied).toBe(false);
  });

  it('starts implement_fix with the findings when the test gate fails, and the fixed round passes', () => {
    const { state, commands } = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_FAIL, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0 }),
      done('implement_fix', impl('ccccccc'), { round: 1 }),
      done('review_mr', REVIEW_OK, { round: 1 }),
      done('run_tests', TESTS_OK, { round: 1 }),
      done('security_scan', SEC_OK, { round: 1 }),
    ]);
    expect(commands[7]).toEqual([
      expect.objectContaining({
        kind: 'enqueue',
        taskType: 'implement_fix',
        payload: expect.objectContaining({ round: 1, branch: 'autodev/1-x', findings: ['tests: adds: expected 3'] }),
      }),
    ]);
    expect(enqueued(commands[8]!)).toEqual(['review_mr', 'run_tests', 'security_scan']);
    expect(state).toMatchObject({ stage: 'merge_approval', fixRounds: 1, round: 1 });
  });

  it('sends the reviewer’s requested changes to the builder', () => {
    const { state, commands } = run([
      ...toGates,
      done('review_mr', REVIEW_CHANGES, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0 }),
    ]);
    expect(commands[7]![0]).toMatchObject({
      taskType: 'implement_fix',
      payload: { findings: ['review: [major] rename x (a.ts:3)'] },
    });
    expect(state.stage).toBe('implement');
  });

  it('lets a deterministic failing test result overrule the agent’s passing verdict', () => {
    const { state } = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0, deterministic: { passed: false, findings: ['tests: 1 failed'] } }),
      done('security_scan', SEC_OK, { round: 0 }),
    ]);
    expect(state.stage).toBe('implement');
    expect(state.previous?.findings).toEqual(['tests: 1 failed']);
  });

  it('stops at the fix limit and asks a human with a summary', () => {
    const failRound = (round: number, sha: string): StoryEvent[] => [
      done(round === 0 ? 'implement_feature' : 'implement_fix', impl(sha), { round }),
      done('review_mr', REVIEW_OK, { round }),
      done('run_tests', { ...TESTS_FAIL, failures: [{ name: `t${round}`, message: 'boom' }] }, { round }),
      done('security_scan', SEC_OK, { round }),
    ];
    const { state, commands } = run([
      ...toGates.slice(0, 4),
      ...failRound(0, 'a000000'),
      ...failRound(1, 'a111111'),
      ...failRound(2, 'a222222'),
    ]);
    expect(state).toMatchObject({ stage: 'waiting_for_human', status: 'waiting_for_human', fixRounds: 2 });
    expect(state.humanSummary).toContain('Fix limit (2) reached');
    expect(state.humanSummary).toContain('tests: t2: boom');
    expect(commands.at(-1)).toEqual([{ kind: 'ask_human', summary: state.humanSummary }]);
    // Once waiting for a human, further events change nothing.
    expect(stepStory(state, done('run_tests', TESTS_OK, { round: 2 }), OPTIONS).applied).toBe(false);
  });

  it('stops when a fix round leaves the same diff and the same failures', () => {
    const round = (n: number): StoryEvent[] => [
      done(n === 0 ? 'implement_feature' : 'implement_fix', impl('abcdef0'), { round: n, diff: 'same-diff' }),
      done('review_mr', REVIEW_OK, { round: n }),
      done('run_tests', TESTS_FAIL, { round: n }),
      done('security_scan', SEC_OK, { round: n }),
    ];
    const { state } = run([...toGates.slice(0, 4), ...round(0), ...round(1)], undefined);
    expect(state.stage).toBe('waiting_for_human');
    expect(state.fixRounds).toBe(1);
    expect(state.humanSummary).toContain('No progress');
  });

  it('sends a rejected merge back to the builder with the reason', () => {
    const { state, commands } = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0 }),
      { type: 'approval_decided', kind: 'merge', decision: 'rejected', reason: 'needs a changelog entry' },
    ]);
    expect(commands.at(-1)).toEqual([
      expect.objectContaining({
        taskType: 'implement_fix',
        payload: expect.objectContaining({ findings: ['merge rejected: needs a changelog entry'] }),
      }),
    ]);
    expect(state).toMatchObject({ stage: 'implement', round: 1 });
  });

  it('re-runs the gates when the default branch moved, and fixes a conflict', () => {
    const atMerge = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0 }),
      { type: 'approval_decided', kind: 'merge', decision: 'approved', reason: null },
    ]).state;
    const moved = stepStory(atMerge, { type: 'merge_refused', reason: 'main moved', rerunGates: true }, OPTIONS);
    expect(enqueued(moved.commands)).toEqual(['review_mr', 'run_tests', 'security_scan']);
    expect(moved.state).toMatchObject({ stage: 'gates', gates: {} });
    const conflict = stepStory(
      atMerge,
      { type: 'merge_refused', reason: 'conflict in a.ts', rerunGates: false },
      OPTIONS,
    );
    expect(conflict.commands[0]).toMatchObject({
      taskType: 'implement_fix',
      payload: { findings: ['merge: conflict in a.ts'] },
    });
  });

  it('asks a human when a task is blocked or dead-lettered', () => {
    const blocked = run([
      { type: 'started' },
      done('create_user_story', { status: 'blocked', summary: 'I stopped.', blocked_reason: 'the story is unclear' }),
    ]);
    expect(blocked.state).toMatchObject({ status: 'waiting_for_human', halt: { reason: 'the story is unclear' } });
    expect(blocked.state.humanSummary).toContain('is blocked for "Add sum": the story is unclear');
    // Without a blocked_reason (an older result), the summary says what the agent did say.
    const vague = run([{ type: 'started' }, done('create_user_story', { status: 'blocked', summary: 'gave up' })]);
    expect(vague.state.humanSummary).toContain(': gave up');
    const failed = run([
      { type: 'started' },
      { type: 'task_failed', taskId: 9, taskType: 'create_user_story', error: 'x' },
    ]);
    expect(failed.state.stage).toBe('waiting_for_human');
  });

  it('adds the agent’s findings to a failing deterministic verdict; a passing run decides alone', () => {
    const failing = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_FAIL, { round: 0, deterministic: { passed: false, findings: ['tests: run failed'] } }),
      done('security_scan', SEC_OK, { round: 0 }),
    ]);
    expect(failing.state.previous?.findings).toEqual(['tests: run failed', 'tests: adds: expected 3']);
    const passing = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_FAIL, { round: 0, deterministic: { passed: true, findings: [] } }),
      done('security_scan', SEC_OK, { round: 0 }),
    ]);
    expect(passing.state.stage).toBe('merge_approval');
  });

  it('completes on a skipped deployment, keeping its summary, and waits for a human on a failed one', () => {
    const toDeploy: StoryEvent[] = [
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0 }),
      { type: 'approval_decided', kind: 'merge', decision: 'approved', reason: null },
      { type: 'merged', sha: 'bbbbbbb' },
    ];
    const said = 'no deploy command is configured for repository r; nothing was deployed';
    const skipped = run([...toDeploy, done('deploy', { status: 'done', summary: said, outcome: 'skipped' })]);
    expect(skipped.state).toMatchObject({
      stage: 'done',
      status: 'completed',
      deployment: { outcome: 'skipped', summary: said },
    });
    const failed = run([
      ...toDeploy,
      done('deploy', { status: 'done', summary: 'exit 7', outcome: 'failed' }, { payload: { sha: 'bbbbbbb' } }),
    ]);
    expect(failed.state).toMatchObject({
      status: 'waiting_for_human',
      halt: { kind: 'task', taskType: 'deploy', stage: 'deploy', payload: { sha: 'bbbbbbb' } },
    });
    const resumed = stepStory(failed.state, { type: 'resumed', note: 'retry' }, OPTIONS);
    expect(resumed.state).toMatchObject({ status: 'running', stage: 'deploy' });
    expect(resumed.state.halt).toBeUndefined();
    expect(resumed.commands).toEqual([
      expect.objectContaining({ taskType: 'deploy', payload: { sha: 'bbbbbbb', note: 'retry' } }),
    ]);
  });

  it('ignores failures and blocks of steps the workflow has left', () => {
    const { state } = run(toGates);
    expect(state.stage).toBe('gates');
    const staleImplement = stepStory(
      state,
      { type: 'task_failed', taskId: 1, taskType: 'implement_feature', error: 'late' },
      OPTIONS,
    );
    expect(staleImplement.applied).toBe(false);
    const oldRoundGate = stepStory(
      state,
      { type: 'task_failed', taskId: 2, taskType: 'run_tests', error: 'late', round: 7 },
      OPTIONS,
    );
    expect(oldRoundGate.applied).toBe(false);
    const blockedOld = stepStory(state, done('write_spec', { status: 'blocked', summary: 's', reason: 'x' }), OPTIONS);
    expect(blockedOld.applied).toBe(false);
  });

  it('resumes only a workflow that waits, from where it stopped', () => {
    const running = run(toGates).state;
    expect(stepStory(running, { type: 'resumed', note: null }, OPTIONS).applied).toBe(false);
    const blocked = run([
      { type: 'started' },
      done(
        'create_user_story',
        { status: 'blocked', summary: 's', blocked_reason: 'unclear' },
        {
          payload: { title: 'Add sum', body: 'Sum two numbers', workflow_id: 1 },
        },
      ),
    ]).state;
    const out = stepStory(blocked, { type: 'resumed', note: 'it means integers' }, OPTIONS);
    expect(out.state).toMatchObject({ stage: 'story', status: 'running' });
    expect(out.commands).toEqual([
      expect.objectContaining({
        kind: 'enqueue',
        taskType: 'create_user_story',
        payload: { title: 'Add sum', body: 'Sum two numbers', note: 'it means integers' },
      }),
    ]);
    // A workflow stopped before it has a branch, with no recorded halt (older state): nothing to resume into.
    const { halt: _halt, ...noHalt } = blocked;
    expect(stepStory({ ...noHalt }, { type: 'resumed', note: null }, OPTIONS).applied).toBe(false);
  });

  it('resumes a blocked implementation on the branch its work is on, not from the default branch', () => {
    const atImplement = run(toGates.slice(0, 4)).state;
    const blocked = stepStory(
      atImplement,
      done(
        'implement_feature',
        {
          status: 'blocked',
          summary: 's',
          blocked_reason: 'git commit fails: read-only file system',
          branch: 'autodev/5-add-sum',
        },
        { round: 0, payload: { title: 'Add sum', spec: SPEC, round: 0, workflow_id: 1 } },
      ),
      OPTIONS,
    ).state;
    expect(blocked).toMatchObject({
      status: 'waiting_for_human',
      branch: 'autodev/5-add-sum',
      halt: { kind: 'task', stage: 'implement', branch: 'autodev/5-add-sum' },
    });
    expect(blocked.humanSummary).toContain('git commit fails: read-only file system');
    expect(blocked.humanSummary).toContain('Its work is on branch autodev/5-add-sum');
    const out = stepStory(blocked, { type: 'resumed', note: 'commits work now' }, OPTIONS);
    expect(out.commands).toEqual([
      expect.objectContaining({
        taskType: 'implement_feature',
        payload: { title: 'Add sum', spec: SPEC, round: 0, branch: 'autodev/5-add-sum', note: 'commits work now' },
      }),
    ]);
    // A dead-lettered fix continues its own branch (named by the dead-letter hook) over the one it was fixing.
    const failedFix = stepStory(
      { ...atImplement, round: 1, fixRounds: 1, branch: 'autodev/5-add-sum' },
      {
        type: 'task_failed',
        taskId: 9,
        taskType: 'implement_fix',
        error: 'lease expired',
        round: 1,
        branch: 'autodev/9-add-sum',
        payload: { title: 'Add sum', branch: 'autodev/5-add-sum', round: 1, findings: ['tests: adds: boom'] },
      },
      OPTIONS,
    ).state;
    const again = stepStory(failedFix, { type: 'resumed', note: null }, OPTIONS);
    expect(again.commands).toEqual([
      expect.objectContaining({
        taskType: 'implement_fix',
        payload: { title: 'Add sum', branch: 'autodev/9-add-sum', round: 1, findings: ['tests: adds: boom'] },
      }),
    ]);
  });

  it('resumes a blocked gate on the branch it checks, not the branch its own session worked on', () => {
    const blocked = run([
      ...toGates,
      done(
        'run_tests',
        { status: 'blocked', summary: 's', blocked_reason: 'the suite needs a database', branch: 'autodev/8-add-sum' },
        { round: 0, payload: { title: 'Add sum', branch: 'autodev/1-x', round: 0 } },
      ),
    ]).state;
    expect(blocked).toMatchObject({ branch: 'autodev/1-x', halt: { branch: 'autodev/1-x' } });
    const out = stepStory(blocked, { type: 'resumed', note: null }, OPTIONS);
    expect(out.commands.map((c) => (c.kind === 'enqueue' ? [c.taskType, c.payload.branch] : []))).toEqual([
      ['review_mr', 'autodev/1-x'],
      ['run_tests', 'autodev/1-x'],
      ['security_scan', 'autodev/1-x'],
    ]);
  });

  it('catches a fix round that changes nothing even when the raw output differs in durations and temp paths', () => {
    const testFindings = (ms: number, dir: string, failing: string[]) => [
      ...failing.map((name) => `tests: ${name}: expected 3, got -1 (${ms}ms)`),
      `\u001b[31mtests: "node --test" ${failing.length} failed, ${2 - failing.length} passed (exit 1) in ${ms / 1000} s\u001b[0m\n` +
        `at ${dir}/checkout/test/sum.test.mjs:4:27\n# duration_ms ${ms}.5`,
    ];
    const round = (n: number, sha: string, findings: string[]): StoryEvent[] => [
      done(n === 0 ? 'implement_feature' : 'implement_fix', impl(sha), { round: n }),
      done('review_mr', REVIEW_OK, { round: n }),
      done('run_tests', TESTS_OK, { round: n, deterministic: { passed: false, findings } }),
      done('security_scan', SEC_OK, { round: n }),
    ];
    const same = run([
      ...toGates.slice(0, 4),
      ...round(0, 'abcdef0', testFindings(12, '/tmp/autodev-checkout-1-aaaa', ['adds', 'adds negatives'])),
      ...round(1, 'abcdef0', testFindings(530, '/tmp/autodev-checkout-2-bbbb', ['adds negatives', 'adds'])),
    ]).state;
    expect(same).toMatchObject({ status: 'waiting_for_human', fixRounds: 1 });
    expect(same.humanSummary).toContain('No progress');
    // A round that fixes one of the two failing tests is progress (even on the same diff id): another round starts.
    const better = run([
      ...toGates.slice(0, 4),
      ...round(0, 'abcdef0', testFindings(12, '/tmp/autodev-checkout-1-aaaa', ['adds', 'adds negatives'])),
      ...round(1, 'abcdef0', testFindings(15, '/tmp/autodev-checkout-3-cccc', ['adds'])),
    ]).state;
    expect(better).toMatchObject({ status: 'running', stage: 'implement', fixRounds: 2 });
  });

  it('lets a passing scan with a squash reason leave the verdict to the agent and carry the squash', () => {
    const squash = { passed: true, findings: [], squash: 'an earlier commit held a secret (a.js, aws)' };
    const passing = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done('security_scan', SEC_OK, { round: 0, deterministic: squash }),
    ]).state;
    expect(passing.stage).toBe('merge_approval');
    expect(squashReason(passing)).toBe(squash.squash);
    const failing = run([
      ...toGates,
      done('review_mr', REVIEW_OK, { round: 0 }),
      done('run_tests', TESTS_OK, { round: 0 }),
      done(
        'security_scan',
        {
          status: 'done',
          summary: 's',
          verdict: 'fail',
          findings: [{ severity: 'high', category: 'A03', message: 'sql' }],
        },
        { round: 0, deterministic: squash },
      ),
    ]).state;
    expect(failing).toMatchObject({ stage: 'implement', previous: { findings: ['security: [high] sql'] } });
  });

  it('ignores an approval decision for a stage the workflow is not at', () => {
    const state: StoryState = run([{ type: 'started' }]).state;
    const out = stepStory(
      state,
      { type: 'approval_decided', kind: 'merge', decision: 'approved', reason: null },
      OPTIONS,
    );
    expect(out.applied).toBe(false);
  });
});
