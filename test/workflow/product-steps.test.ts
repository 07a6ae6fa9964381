/**
 * @module The product workflow's pure step function: every stage's way on, and stale or foreign events ignored
 * (nothing changes), so a late task result, a second due check or a decision on a decided project cannot move it.
 */
import { describe, expect, it } from 'vitest';
import {
  initialProductState,
  projectStatusOf,
  stepProduct,
  type ProductEvent,
  type ProductState,
} from '../../src/workflow/product-steps.js';

/** The Architect's `evaluate_feasibility` result (the contract's fields; the worker validated it). */
const ASSESSED = {
  status: 'done',
  summary: 'Feasible.',
  verdict: 'feasible_with_changes',
  feasibility: { score: 9, reason: 'One function' },
  effort: { score: 8, reason: 'An hour' },
  risk: { score: 7, reason: 'Little can go wrong' },
  estimate: { tokens: 40_000, duration: 'an hour' },
  approach: 'One function, tested.',
  concerns: ['Unicode'],
};
const assessedEvent = (result: unknown = ASSESSED): ProductEvent => ({
  type: 'task_completed',
  taskId: 1,
  taskType: 'evaluate_feasibility',
  result,
});

const decided = (kind: 'project' | 'publish', decision: 'approved' | 'rejected' | 'deferred'): ProductEvent => ({
  type: 'approval_decided',
  kind,
  decision,
  reason: decision === 'approved' ? null : 'why',
});

function run(events: ProductEvent[], from: ProductState = initialProductState('Slugger')): ProductState {
  let state = from;
  for (const event of events) {
    const outcome = stepProduct(state, event);
    expect(outcome.applied, `${event.type} at ${state.stage}`).toBe(true);
    state = outcome.state;
  }
  return state;
}

describe('stepProduct', () => {
  it("goes from proposal to published, with the commands of each step: the Architect's assessment first", () => {
    const start = stepProduct(initialProductState('Slugger'), { type: 'started' });
    expect(start.state).toMatchObject({ stage: 'assessing', status: 'running' });
    expect(projectStatusOf(start.state.stage)).toBe('proposed');
    expect(start.commands).toEqual([{ kind: 'enqueue', taskType: 'evaluate_feasibility', payload: {} }]);
    // No decision before the assessment is in.
    expect(stepProduct(start.state, decided('project', 'approved')).applied).toBe(false);
    const assessed = stepProduct(start.state, assessedEvent());
    expect(assessed.state).toMatchObject({ stage: 'project_approval', status: 'waiting_for_human' });
    expect(assessed.commands).toEqual([
      {
        kind: 'record_assessment',
        assessment: {
          taskId: 1,
          verdict: 'feasible_with_changes',
          feasibility: ASSESSED.feasibility,
          effort: ASSESSED.effort,
          risk: ASSESSED.risk,
          estimate: ASSESSED.estimate,
          approach: ASSESSED.approach,
          concerns: ['Unicode'],
        },
      },
      expect.objectContaining({
        kind: 'open_approval',
        approvalKind: 'project',
        body: expect.stringContaining("The Architect's verdict: feasible with changes."),
      }),
    ]);
    // A second result for the same step (a late duplicate) changes nothing.
    expect(stepProduct(assessed.state, assessedEvent()).applied).toBe(false);
    const approved = stepProduct(assessed.state, decided('project', 'approved'));
    expect(approved.commands).toEqual([{ kind: 'enqueue', taskType: 'create_project_repo', payload: {} }]);
    const repo = stepProduct(approved.state, {
      type: 'task_completed',
      taskId: 2,
      taskType: 'create_project_repo',
      result: { repo_id: 7 },
    });
    expect(repo.commands).toEqual([{ kind: 'start_story', repoId: 7 }]);
    const building = run([{ type: 'story_started', storyId: 9 }], repo.state);
    expect(stepProduct(building, { type: 'story_completed', storyId: 8 }).applied).toBe(false);
    const checking = stepProduct(building, { type: 'story_completed', storyId: 9 });
    expect(checking.commands).toEqual([{ kind: 'check_product' }]);
    const ready = stepProduct(checking.state, { type: 'product_checked', ok: true, dir: '/d/projects/slugger' });
    expect(ready.commands).toEqual([expect.objectContaining({ kind: 'open_approval', approvalKind: 'publish' })]);
    expect(projectStatusOf(ready.state.stage)).toBe('awaiting_publish');
    const publishing = stepProduct(ready.state, decided('publish', 'approved'));
    expect(publishing.commands).toEqual([{ kind: 'enqueue', taskType: 'publish_product', payload: {} }]);
    const done = run(
      [{ type: 'task_completed', taskId: 3, taskType: 'publish_product', result: {} }],
      publishing.state,
    );
    expect(done).toMatchObject({ stage: 'published', status: 'completed' });
  });

  it('a failed or blocked assessment waits as failed with why; a reassessment asks the Architect again', () => {
    const assessing = run([{ type: 'started' }]);
    const died = run(
      [{ type: 'task_failed', taskId: 1, taskType: 'evaluate_feasibility', error: 'session timed out' }],
      assessing,
    );
    expect(died).toMatchObject({
      stage: 'failed',
      status: 'failed',
      failedAt: 'assessing',
      error: "the Architect's assessment failed: session timed out",
    });
    expect(projectStatusOf(died.stage)).toBe('failed');
    expect(stepProduct(died, decided('project', 'approved')).applied).toBe(false);
    // A late result of the failed task does not open the approval behind the failure.
    expect(stepProduct(died, assessedEvent()).applied).toBe(false);
    const again = stepProduct(died, { type: 'reassess_requested' });
    expect(again.commands).toEqual([{ kind: 'enqueue', taskType: 'evaluate_feasibility', payload: {} }]);
    expect(again.state).toEqual({ stage: 'assessing', status: 'running', title: 'Slugger' });
    expect(stepProduct(again.state, { type: 'reassess_requested' }).applied).toBe(false);

    const blocked = run(
      [assessedEvent({ status: 'blocked', summary: 'x', blocked_reason: 'The spec names no target runtime' })],
      again.state,
    );
    expect(blocked).toMatchObject({
      stage: 'failed',
      failedAt: 'assessing',
      error: 'the Architect could not assess it: The spec names no target runtime',
    });
  });

  it('ignores stale and foreign events: nothing changes', () => {
    const proposed = run([{ type: 'started' }, assessedEvent()]);
    for (const event of [
      { type: 'brought_back' },
      decided('publish', 'approved'),
      { type: 'task_completed', taskId: 1, taskType: 'publish_product', result: {} },
      { type: 'product_checked', ok: true, dir: '/x' },
    ] as ProductEvent[]) {
      expect(stepProduct(proposed, event)).toEqual({ state: proposed, commands: [], applied: false });
    }
    const rejected = run([decided('project', 'rejected')], proposed);
    expect(projectStatusOf(rejected.stage)).toBe('rejected');
    expect(stepProduct(rejected, decided('project', 'approved')).applied).toBe(false);
    const deferred = run([decided('project', 'deferred')], proposed);
    const back = stepProduct(deferred, { type: 'brought_back' });
    expect(back.commands).toEqual([expect.objectContaining({ kind: 'open_approval', approvalKind: 'project' })]);
    // A second due check finds it proposed again: no second approval.
    expect(stepProduct(back.state, { type: 'brought_back' }).applied).toBe(false);
  });

  it('a product dir that fails its check waits as failed; a recheck checks it again', () => {
    const checking: ProductState = { stage: 'check_product', status: 'running', title: 'S', repoId: 1, storyId: 2 };
    const failed = run([{ type: 'product_checked', ok: false, error: 'NPM_README.md is missing' }], checking);
    expect(failed).toMatchObject({ stage: 'failed', status: 'failed', failedAt: 'check_product' });
    expect(projectStatusOf(failed.stage)).toBe('failed');
    const again = stepProduct(failed, { type: 'recheck_requested' });
    expect(again.commands).toEqual([{ kind: 'check_product' }]);
    expect(again.state).toMatchObject({ stage: 'check_product', status: 'running' });
    expect(again.state.error).toBeUndefined();
    expect(stepProduct(again.state, { type: 'recheck_requested' }).applied).toBe(false);
  });

  it('a failed publish waits as failed with the error; a retried task that completes publishes it', () => {
    const publishing: ProductState = { stage: 'publishing', status: 'running', title: 'S', repoId: 1, storyId: 2 };
    const failed = run(
      [{ type: 'task_failed', taskId: 5, taskType: 'publish_product', error: 'npm: not set: npm/token' }],
      publishing,
    );
    expect(failed).toMatchObject({ stage: 'failed', status: 'failed', error: 'npm: not set: npm/token' });
    const done = run([{ type: 'task_completed', taskId: 5, taskType: 'publish_product', result: {} }], failed);
    expect(done).toEqual({ stage: 'published', status: 'completed', title: 'S', repoId: 1, storyId: 2 });
  });
});
