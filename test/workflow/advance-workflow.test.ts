/**
 * @module Integration tests of the story workflow on both engines: tasks completed by hand (claim + complete with the
 * workflow hook in the completing transaction, as the agent runtime does), approvals decided through `decideApproval`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import {
  onWorkflowTaskCompleted,
  startStoryWorkflow,
  type MergeExecutor,
  type WorkflowDeps,
} from '../../src/workflow/advance-workflow.js';
import type { StoryState } from '../../src/workflow/workflow-steps.js';
import { expectCode } from '../support/expect-error.js';
import { checkedResult } from '../support/result-fixtures.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const SETTINGS: QueueSettings = {
  leaseMs: 10_000,
  heartbeatMs: 1_000,
  maxAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};

const STORY = {
  status: 'done',
  summary: 's',
  stories: [{ title: 'T', body: 'B', acceptance_criteria: ['works'] }],
};
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
  branch: 'autodev/1-sum',
  commits: [{ sha, message: 'm' }],
  files_changed: ['a.ts'],
});
const REVIEW_OK = { status: 'done', summary: 's', verdict: 'approve', findings: [] };
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
const DEPLOYED = { status: 'done', summary: 's', environment: 'prod', outcome: 'succeeded', steps: [], rollback: 'r' };

describe.each(DIALECTS)('%s: story workflow', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let merges: number;

  beforeEach(() => {
    queue = new TaskQueue(t.handle, SETTINGS, () => 1_700_000_000_000);
    merges = 0;
    const merge: MergeExecutor = () => {
      merges++;
      return Promise.resolve({ type: 'merged', sha: 'f00dfeed' });
    };
    deps = { queue, maxFixRounds: 2, merge };
  });
  afterEach(async () => {
    await queue.close();
  });

  /** Claims the one pending task of `type` and completes it with `result`, advancing its workflow in the same tx. */
  async function complete(type: string, result: unknown): Promise<number> {
    checkedResult(type, result);
    const task = await queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type} task`);
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
      await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
    });
    return task.id;
  }

  const pendingTypes = async () =>
    (await t.handle.db.selectFrom('tasks').select('type').where('status', '=', 'pending').orderBy('id').execute()).map(
      (r) => r.type,
    );
  const workflow = (id: number) =>
    t.handle.db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const pendingApproval = async (kind: string) => {
    const rows = (await listApprovals(t.handle.db, { status: 'pending' })).filter((a) => a.kind === kind);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };
  const start = () =>
    startStoryWorkflow(t.handle.db, deps, {
      title: 'Add sum',
      body: 'Sum two numbers',
      repoId: null,
      createdBy: 'cli',
    });

  async function toGates() {
    const wf = await start();
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const spec = await pendingApproval('spec');
    await decideApproval(t.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'cli:alice' });
    await complete('implement_feature', impl('aaaaaaa'));
    return wf;
  }

  it('runs the happy path, every step a task or approval with its workflow id', async () => {
    const wf = await start();
    expect(wf).toMatchObject({ stage: 'story', status: 'running' });
    expect(await pendingTypes()).toEqual(['create_user_story']);
    const storyTask = await complete('create_user_story', STORY);
    const specTask = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'write_spec')
      .executeTakeFirstOrThrow();
    expect(specTask).toMatchObject({ workflow_id: wf.id, parent_id: storyTask });
    await complete('write_spec', SPEC);
    expect((await workflow(wf.id)).stage).toBe('spec_approval');
    const spec = await pendingApproval('spec');
    await decideApproval(t.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'cli:alice' });
    await complete('implement_feature', impl('aaaaaaa'));
    expect(await pendingTypes()).toEqual(['review_mr', 'run_tests', 'security_scan']);
    await complete('run_tests', TESTS_OK);
    await complete('security_scan', SEC_OK);
    expect(await listApprovals(t.handle.db, { status: 'pending' })).toHaveLength(0);
    await complete('review_mr', REVIEW_OK);
    const merge = await pendingApproval('merge');
    await decideApproval(t.handle.db, deps, { id: merge.id, decision: 'approved', actor: 'api:bob' });
    expect(merges).toBe(1);
    expect(await pendingTypes()).toEqual(['deploy']);
    await complete('deploy', DEPLOYED);
    expect(await workflow(wf.id)).toMatchObject({ stage: 'done', status: 'completed', fix_rounds: 0 });
    const tasks = await t.handle.db.selectFrom('tasks').select(['workflow_id', 'status']).execute();
    expect(tasks).toHaveLength(7);
    expect(tasks.every((task) => task.workflow_id === wf.id && task.status === 'completed')).toBe(true);
    const decided = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', 'in', ['approval.approved', 'approval.rejected'])
      .orderBy('id')
      .execute();
    expect(decided.map((e) => [e.kind, e.actor])).toEqual([
      ['approval.approved', 'cli:alice'],
      ['approval.approved', 'api:bob'],
    ]);
  });

  it('sends a rejected spec back to the architect with the reason, then continues when approved', async () => {
    await start();
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const first = await pendingApproval('spec');
    await decideApproval(t.handle.db, deps, {
      id: first.id,
      decision: 'rejected',
      reason: 'handle overflow',
      actor: 'cli:alice',
    });
    const again = await queue.claim('w1', ['write_spec']);
    expect(again?.payload).toMatchObject({ rejection_reason: 'handle overflow' });
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: again!.id, workerId: 'w1' }, SPEC, tx);
      await onWorkflowTaskCompleted(tx, deps, again!, SPEC, 'w1');
    });
    const second = await pendingApproval('spec');
    expect(second.id).not.toBe(first.id);
    await decideApproval(t.handle.db, deps, { id: second.id, decision: 'approved', actor: 'cli:alice' });
    expect(await pendingTypes()).toEqual(['implement_feature']);
    const event = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'approval.rejected')
      .executeTakeFirstOrThrow();
    expect(event.actor).toBe('cli:alice');
    expect(JSON.parse(event.data)).toMatchObject({ reason: 'handle overflow', decided_by: 'cli:alice' });
  });

  it('refuses bad decisions and changes nothing', async () => {
    await start();
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const spec = await pendingApproval('spec');
    await expectCode(
      decideApproval(t.handle.db, deps, { id: spec.id, decision: 'rejected', reason: '  ', actor: 'x' }),
      'REASON_REQUIRED',
    );
    await expectCode(
      decideApproval(t.handle.db, deps, { id: 9999, decision: 'approved', actor: 'x' }),
      'APPROVAL_NOT_FOUND',
    );
    await decideApproval(t.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'x' });
    const eventsBefore = await t.handle.db.selectFrom('events').select('id').execute();
    const tasksBefore = await pendingTypes();
    await expectCode(
      decideApproval(t.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'y' }),
      'APPROVAL_ALREADY_DECIDED',
    );
    await expectCode(
      decideApproval(t.handle.db, deps, { id: spec.id, decision: 'rejected', reason: 'late', actor: 'y' }),
      'APPROVAL_ALREADY_DECIDED',
    );
    expect(await t.handle.db.selectFrom('events').select('id').execute()).toHaveLength(eventsBefore.length);
    expect(await pendingTypes()).toEqual(tasksBefore);
    expect((await listApprovals(t.handle.db))[0]).toMatchObject({ status: 'approved', decided_by: 'x' });
    await expectCode(listApprovals(t.handle.db, { status: 'maybe' }), 'VALIDATION_FAILED');
  });

  it('fixes a failing test gate in one round', async () => {
    const wf = await toGates();
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_FAIL);
    await complete('security_scan', SEC_OK);
    const fix = await queue.claim('w1', ['implement_fix']);
    expect(fix?.payload).toMatchObject({ round: 1, findings: ['tests: adds: expected 3'], branch: 'autodev/1-sum' });
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: fix!.id, workerId: 'w1' }, impl('bbbbbbb'), tx);
      await onWorkflowTaskCompleted(tx, deps, fix!, impl('bbbbbbb'), 'w1');
    });
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_OK);
    await complete('security_scan', SEC_OK);
    expect(await workflow(wf.id)).toMatchObject({ stage: 'merge_approval', fix_rounds: 1 });
    await pendingApproval('merge');
  });

  it('stops non-converging fixes at the limit and asks a human with a summary', async () => {
    const wf = await toGates();
    for (let round = 0; round <= 2; round++) {
      if (round > 0) await complete('implement_fix', impl(`${round}`.repeat(7)));
      await complete('review_mr', REVIEW_OK);
      await complete('run_tests', { ...TESTS_FAIL, failures: [{ name: `t${round}`, message: 'boom' }] });
      await complete('security_scan', SEC_OK);
    }
    const row = await workflow(wf.id);
    expect(row).toMatchObject({ status: 'waiting_for_human', stage: 'waiting_for_human', fix_rounds: 2 });
    expect((JSON.parse(row.state) as StoryState).humanSummary).toContain('Fix limit (2) reached');
    expect(await pendingTypes()).toEqual([]);
    const asked = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'workflow.waiting_for_human')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(asked.data).summary).toContain('tests: t2: boom');
  });

  it('sends a rejected merge back to the builder with the reason', async () => {
    const wf = await toGates();
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_OK);
    await complete('security_scan', SEC_OK);
    const merge = await pendingApproval('merge');
    await decideApproval(t.handle.db, deps, {
      id: merge.id,
      decision: 'rejected',
      reason: 'add docs',
      actor: 'cli:alice',
    });
    const fix = await queue.claim('w1', ['implement_fix']);
    expect(fix?.payload).toMatchObject({ findings: ['merge rejected: add docs'] });
    expect((await workflow(wf.id)).stage).toBe('implement');
    expect(merges).toBe(0);
  });

  it('rolls the decision back when the merge cannot run', async () => {
    await toGates();
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_OK);
    await complete('security_scan', SEC_OK);
    const merge = await pendingApproval('merge');
    const { merge: _unused, ...noForge } = deps;
    await expectCode(
      decideApproval(t.handle.db, noForge, { id: merge.id, decision: 'approved', actor: 'x' }),
      'FORGE_UNAVAILABLE',
    );
    expect((await pendingApproval('merge')).id).toBe(merge.id);
  });
});
