/**
 * @module Dead letters and resume on both engines: a workflow task that runs out of attempts (its last attempt fails in
 * the worker loop, or its lease expires for good) moves its workflow to a human in the same transaction, through the
 * hook the agent supervisor supplies; `resumeWorkflow` continues a waiting workflow from where it stopped (one more
 * fix round with the note after the fix limit; the stopped task again after a failure) and refuses one that is not
 * waiting, changing nothing. Retrying the dead task by hand (`tasks retry`) is refused while its story waits. A
 * blocked agent's `blocked_reason` reaches the summary and `stories show`; a resume continues the stopped task's
 * branch (from its result, or the task branch a dead-lettered builder left in the repository).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentDeadLetterHook } from '../../src/agents/agent-supervisor.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import {
  onWorkflowTaskCompleted,
  resumeWorkflow,
  startStoryWorkflow,
  type MergeExecutor,
  type WorkflowDeps,
} from '../../src/workflow/advance-workflow.js';
import { retryTaskByHand } from '../../src/workflow/retry-task-by-hand.js';
import { showStory } from '../../src/workflow/stories.js';
import { addRepository } from '../../src/forge/repositories.js';
import { taskBranchName } from '../../src/workspace/branch-names.js';
import { git } from '../../src/workspace/git.js';
import { commitAll, makeRepo } from '../workspace/git-fixtures.js';
import type { StoryState } from '../../src/workflow/workflow-steps.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { expectCode } from '../support/expect-error.js';
import { checkedResult } from '../support/result-fixtures.js';
import { REVIEW_OK, SEC_OK, SPEC, STORY, implementation } from './pipeline-fixtures.js';

const SETTINGS: QueueSettings = {
  leaseMs: 10_000,
  heartbeatMs: 1_000,
  maxAttempts: 1,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};
const TESTS_FAIL = {
  status: 'done',
  summary: 's',
  command: 'npm test',
  passed: 1,
  failed: 1,
  skipped: 0,
  failures: [{ name: 'adds', message: 'expected 3' }],
};

describe.each(DIALECTS)('%s: dead letters and resume', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  const clock = { now: 1_700_000_000_000 };

  beforeEach(() => {
    clock.now = 1_700_000_000_000;
    queue = new TaskQueue(t.handle, SETTINGS, () => clock.now);
    const merge: MergeExecutor = () => Promise.resolve({ type: 'merged', sha: 'f00dfeed' });
    deps = { queue, maxFixRounds: 1, merge };
  });
  afterEach(async () => {
    await queue.close();
  });

  const hook = () =>
    agentDeadLetterHook({ queue, settings: SettingsSchema.parse({ workflow: { max_fix_rounds: 1 } }) }, 'w1');

  async function complete(type: string, result: unknown) {
    checkedResult(type, result);
    const task = await queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type} task`);
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
      await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
    });
    return task.id;
  }
  const workflow = async (id: number) => {
    const row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { ...row, parsed: JSON.parse(row.state) as StoryState };
  };
  const pending = async (type?: string) =>
    t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('status', '=', 'pending')
      .$if(type !== undefined, (qb) => qb.where('type', '=', type!))
      .orderBy('id')
      .execute();
  const eventCount = async () => (await t.handle.db.selectFrom('events').select('id').execute()).length;

  async function toImplement(repoId: number | null = null) {
    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Add sum',
      body: 'b',
      repoId,
      createdBy: 'cli',
    });
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    return wf.id;
  }

  /** Runs the real worker loop for one claim with a handler that always throws. */
  async function failInWorker(type: string, message: string) {
    const stop = new AbortController();
    let settled!: () => void;
    const done = new Promise<void>((resolve) => (settled = resolve));
    const loop = runWorker({
      queue,
      workerId: 'w1',
      types: [type],
      signal: stop.signal,
      idleWaitMs: 20,
      handler: () => Promise.reject(new Error(message)),
      onDeadLetter: hook(),
      onTaskEnd: () => settled(),
      onError: (error) => {
        throw error;
      },
    });
    await done;
    stop.abort();
    await loop;
  }

  it('moves the workflow to a human when its task fails its last attempt, and resumes that task with the note', async () => {
    const wf = await toImplement();
    await failInWorker('implement_feature', 'the builder crashed: out of disk');
    const task = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'implement_feature')
      .executeTakeFirstOrThrow();
    expect(task.status).toBe('failed');
    const row = await workflow(wf);
    expect(row).toMatchObject({ status: 'waiting_for_human', stage: 'waiting_for_human' });
    expect(row.parsed.humanSummary).toContain(`implement_feature task #${task.id} failed`);
    expect(row.parsed.humanSummary).toContain('out of disk');
    expect(row.parsed.halt).toMatchObject({ kind: 'task', stage: 'implement', taskType: 'implement_feature' });
    const asked = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'workflow.waiting_for_human')
      .execute();
    expect(asked).toHaveLength(1);

    // Retrying the dead task by hand would run it behind the waiting story's back: refused, pointing at resume.
    const refused = await retryTaskByHand(queue, task.id, 'cli:alice').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'TASK_NOT_RETRYABLE' });
    expect(String(refused)).toContain(`autodev stories resume ${wf}`);
    expect((await queue.get(task.id)).status).toBe('failed');
    expect(await pending('implement_feature')).toHaveLength(0);

    const resumed = await resumeWorkflow(t.handle.db, deps, wf, { note: 'disk cleaned up', actor: 'cli:alice' });
    expect(resumed).toMatchObject({ status: 'running', stage: 'implement' });
    const again = await pending('implement_feature');
    expect(again).toHaveLength(1);
    expect(JSON.parse(again[0]!.payload)).toMatchObject({
      title: 'Add sum',
      round: 0,
      note: 'disk cleaned up',
      workflow_id: wf,
    });
    expect(again[0]!.parent_id).toBe(task.id);
    const audit = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'workflow.resumed')
      .executeTakeFirstOrThrow();
    expect(audit.actor).toBe('cli:alice');
    expect(JSON.parse(audit.data)).toMatchObject({ note: 'disk cleaned up', resumed_by: 'cli:alice' });
    // The resumed task completes and the workflow goes on.
    await complete('implement_feature', implementation('autodev/1-sum', 'aaaaaaa'));
    expect((await workflow(wf)).stage).toBe('gates');
  });

  it('moves the workflow to a human when a lease expires for good in a reclaim pass', async () => {
    const wf = await toImplement();
    const claimed = await queue.claim('w-dead', ['implement_feature']);
    expect(claimed).toBeDefined();
    clock.now += SETTINGS.leaseMs + 1;
    expect(await queue.reclaimExpired(hook())).toEqual([claimed!.id]);
    const row = await workflow(wf);
    expect(row.status).toBe('waiting_for_human');
    expect(row.parsed.humanSummary).toContain('lease expired');
    const task = await t.handle.db
      .selectFrom('tasks')
      .select('status')
      .where('id', '=', claimed!.id)
      .executeTakeFirstOrThrow();
    expect(task.status).toBe('failed');
  });

  it('dead-letters the task even when the workflow hook fails, and reports the hook error', async () => {
    await toImplement();
    const errors: unknown[] = [];
    const stop = new AbortController();
    let settled!: () => void;
    const done = new Promise<void>((resolve) => (settled = resolve));
    const loop = runWorker({
      queue,
      workerId: 'w1',
      types: ['implement_feature'],
      signal: stop.signal,
      idleWaitMs: 20,
      handler: () => Promise.reject(new Error('boom')),
      onDeadLetter: () => Promise.reject(new Error('hook broke')),
      onTaskEnd: () => settled(),
      onError: (error) => void errors.push(error),
    });
    await done;
    stop.abort();
    await loop;
    const task = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'implement_feature')
      .executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'failed', error: 'boom' });
    expect(errors.map((e) => (e as Error).message)).toEqual(['hook broke']);
  });

  it('stops for a gate that dead-letters in its round; resume runs only the gates without a verdict', async () => {
    const wf = await toImplement();
    await complete('implement_feature', implementation('autodev/1-sum', 'aaaaaaa'));
    // The tester's worker dies while the other gates finish.
    const tester = await queue.claim('w-dead', ['run_tests']);
    await complete('review_mr', {
      status: 'done',
      summary: 's',
      verdict: 'request_changes',
      findings: [{ severity: 'major', message: 'no' }],
    });
    await complete('security_scan', SEC_OK);
    expect((await workflow(wf)).stage).toBe('gates');
    // Its lease expires for good: the round is current, so the workflow stops for a human.
    clock.now += SETTINGS.leaseMs + 1;
    await queue.reclaimExpired(hook());
    expect((await workflow(wf)).status).toBe('waiting_for_human');
    // Resume: only the gate without a verdict runs again, and its verdict completes the join.
    await resumeWorkflow(t.handle.db, deps, wf, { actor: 'cli:alice' });
    expect((await pending()).map((p) => p.type)).toEqual(['run_tests']);
    expect(tester).toBeDefined();
    await complete('run_tests', TESTS_FAIL);
    const row = await workflow(wf);
    expect(row).toMatchObject({ stage: 'implement', fix_rounds: 1 });
  });

  it('resumes after the fix limit with one more fix round carrying the note; the limit stops it again', async () => {
    const wf = await toImplement();
    await complete('implement_feature', implementation('autodev/1-sum', 'aaaaaaa'));
    for (let round = 0; round <= 1; round++) {
      if (round > 0) await complete('implement_fix', implementation('autodev/1-sum', `${round}`.repeat(7)));
      await complete('review_mr', REVIEW_OK);
      await complete('run_tests', { ...TESTS_FAIL, failures: [{ name: `t${round}`, message: 'boom' }] });
      await complete('security_scan', SEC_OK);
    }
    let row = await workflow(wf);
    expect(row).toMatchObject({ status: 'waiting_for_human', fix_rounds: 1 });
    expect(row.parsed.humanSummary).toContain('Fix limit (1) reached');

    const resumed = await resumeWorkflow(t.handle.db, deps, wf, {
      note: '  use BigInt for large sums  ',
      actor: 'api:bob',
    });
    expect(resumed).toMatchObject({ status: 'running', stage: 'implement', fix_rounds: 2 });
    const [fix] = await pending('implement_fix');
    expect(JSON.parse(fix!.payload)).toMatchObject({
      round: 2,
      branch: 'autodev/1-sum',
      findings: ['tests: t1: boom', 'human: use BigInt for large sums'],
    });
    await complete('implement_fix', implementation('autodev/1-sum', '3333333'));
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', { ...TESTS_FAIL, failures: [{ name: 't2', message: 'boom' }] });
    await complete('security_scan', SEC_OK);
    row = await workflow(wf);
    expect(row).toMatchObject({ status: 'waiting_for_human', fix_rounds: 2 });
    expect(row.parsed.humanSummary).toContain('Fix limit (1) reached');
    expect(await pending()).toEqual([]);
  });

  it('stops on a blocked builder with its blocked_reason everywhere, and resumes on the branch its work is on', async () => {
    const wf = await toImplement();
    const blocked = {
      status: 'blocked',
      summary: 'Half done.',
      blocked_reason: 'the spec does not say how to round; a human must decide',
      branch: 'autodev/4-add-sum',
      commits: [{ sha: 'abcdef1', message: 'wip: sum' }],
    };
    const taskId = await complete('implement_feature', blocked);
    const row = await workflow(wf);
    expect(row).toMatchObject({ status: 'waiting_for_human' });
    expect(row.parsed.humanSummary).toContain(
      `implement_feature task #${taskId} is blocked for "Add sum": the spec does not say how to round`,
    );
    const shown = await showStory(t.handle.db, wf);
    expect(shown).toMatchObject({
      branch: 'autodev/4-add-sum',
      human_summary: expect.stringContaining('a human must decide'),
      halt: {
        kind: 'task',
        task_id: taskId,
        task_type: 'implement_feature',
        reason: blocked.blocked_reason,
        branch: 'autodev/4-add-sum',
      },
    });
    const asked = await t.handle.db
      .selectFrom('events')
      .select('data')
      .where('kind', '=', 'workflow.waiting_for_human')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(asked.data).summary).toContain('a human must decide');

    await resumeWorkflow(t.handle.db, deps, wf, { note: 'round half up', actor: 'cli:alice' });
    const [again] = await pending('implement_feature');
    // The agent runtime starts the task's branch from `payload.branch`: the blocked work continues.
    expect(JSON.parse(again!.payload)).toMatchObject({ branch: 'autodev/4-add-sum', note: 'round half up', round: 0 });
    expect(again!.parent_id).toBe(taskId);
    await complete('implement_feature', implementation('autodev/9-add-sum', 'bbbbbbb'));
    expect(await workflow(wf)).toMatchObject({ stage: 'gates', parsed: { branch: 'autodev/9-add-sum' } });
  });

  it('resumes a dead-lettered builder on its own task branch (real repository), not the default branch', async () => {
    const fixture = await makeRepo();
    try {
      const repo = await addRepository(t.handle.db, { path: fixture.repo, actor: 'test', now: Date.now() }, '/');
      const wf = await toImplement(repo.id);
      const [queued] = await pending('implement_feature');
      // What the agent runtime leaves of a lost attempt: the task branch with its saved work.
      const branch = taskBranchName(queued!.id, 'Add sum');
      await git(fixture.repo, ['checkout', '--quiet', '-b', branch]);
      await writeFile(join(fixture.repo, 'sum.mjs'), 'export const sum = (a, b) => a + b;\n');
      await commitAll(fixture.repo, 'autodev: implement_feature: work in progress (failed)');
      await git(fixture.repo, ['checkout', '--quiet', 'main']);

      await failInWorker('implement_feature', 'claude session failed: overloaded');
      const row = await workflow(wf);
      expect(row.parsed.halt).toMatchObject({ kind: 'task', branch, reason: 'claude session failed: overloaded' });
      expect(row.parsed.humanSummary).toContain(`Its work is on branch ${branch}`);
      expect((await showStory(t.handle.db, wf)).halt).toMatchObject({ branch });

      await resumeWorkflow(t.handle.db, deps, wf, { actor: 'cli:alice' });
      const [again] = await pending('implement_feature');
      expect(JSON.parse(again!.payload)).toMatchObject({ title: 'Add sum', round: 0, branch });
    } finally {
      await fixture.cleanup();
    }
  });

  it('refuses to resume a workflow that is not waiting, and changes nothing', async () => {
    const wf = await toImplement();
    const before = await eventCount();
    const tasksBefore = await pending();
    await expectCode(resumeWorkflow(t.handle.db, deps, wf, { note: 'go', actor: 'cli:alice' }), 'WORKFLOW_NOT_WAITING');
    await expectCode(resumeWorkflow(t.handle.db, deps, 9999, { actor: 'cli:alice' }), 'WORKFLOW_NOT_FOUND');
    await expectCode(
      resumeWorkflow(t.handle.db, deps, wf, { note: 'x'.repeat(4001), actor: 'cli:alice' }),
      'VALIDATION_FAILED',
    );
    expect(await eventCount()).toBe(before);
    expect(await pending()).toEqual(tasksBefore);
    expect((await workflow(wf)).status).toBe('running');
  });
});
