/**
 * @module An approved swarm proposal becomes a story that runs, on both databases: an agent-style proposal on a real
 * git repository, votes, a human's approval (the story starts, linked both ways), then every stage with the real
 * parts (the task results stand for the agents' and pass their contracts): the real test gate (`node --test`,
 * sandboxed), the spec and merge approvals, the local forge's merge into `main`, and the devops handler's deploy
 * step, to `done`. A rejected proposal keeps its reason and starts nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentTaskHandler } from '../../src/agents/run-agent-task.js';
import type { GateRunDeps } from '../../src/agents/run-gates.js';
import { addRepository } from '../../src/forge/repositories.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import type { WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { createProposal, decideProposal, voteOnProposal } from '../../src/workflow/proposals.js';
import { showStory } from '../../src/workflow/stories.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { gitOutput } from '../../src/workspace/git.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import {
  completeWithGates,
  gateDeps,
  implementation,
  NODE_TEST_COMMAND,
  REVIEW_OK,
  runtimeDeps,
  SEC_OK,
  SPEC,
  STORY,
  sumFeature,
  TESTS_CLAIMED_OK,
} from './pipeline-fixtures.js';

describe.each(DIALECTS)('%s: a proposal becomes a story', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let gates: GateRunDeps;
  let dataDir: string;

  beforeEach(async () => {
    fixture = await makeRepo();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-proposal-story-'));
    queue = new TaskQueue(t.handle);
    deps = workflowDeps(queue, 3);
    gates = gateDeps(queue);
  });
  afterEach(async () => {
    await queue.close();
    await fixture.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const complete = (type: string, result: Record<string, unknown>) =>
    completeWithGates(queue, deps, gates, type, result);

  /** The devops worker loop runs the pending deploy task to its end. */
  async function runDeploy() {
    const runtime = runtimeDeps(queue, dataDir, { PATH: process.env.PATH, HOME: os.homedir() });
    const stop = new AbortController();
    let settled!: (outcome: string) => void;
    const ended = new Promise<string>((resolve) => (settled = resolve));
    const loop = runWorker({
      queue,
      workerId: 'devops-1',
      types: ['deploy'],
      signal: stop.signal,
      idleWaitMs: 20,
      handler: createAgentTaskHandler(runtime, 'devops'),
      onTaskEnd: (_task, outcome) => settled(outcome),
    });
    const outcome = await ended;
    stop.abort();
    await loop;
    return outcome;
  }

  it('approved: the story runs through the real gates, merge and deploy to done, linked to its proposal', async () => {
    const repo = await addRepository(
      t.handle.db,
      { path: fixture.repo, name: 'shop', testCommand: NODE_TEST_COMMAND, actor: 'test', now: Date.now() },
      '/',
    );
    const proposal = await createProposal(t.handle.db, {
      title: 'Add a sum helper',
      body: 'Two users asked for `sum(a, b)`.',
      kind: 'story',
      repoId: repo.id,
      author: 'pm@host:1#0',
      now: Date.now(),
    });
    await voteOnProposal(t.handle.db, { proposalId: proposal.id, voter: 'architect@host:1#0', vote: 'up', now: 1 });
    const approved = await decideProposal(t.handle.db, deps, {
      id: proposal.id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    expect(approved).toMatchObject({ status: 'approved', decided_by: 'cli:alice', task_id: null });
    const storyId = approved.workflow_id!;

    const started = await showStory(t.handle.db, storyId);
    expect(started).toMatchObject({ proposal_id: proposal.id, repo_id: repo.id, title: 'Add a sum helper' });
    expect(started.tasks.map((task) => task.type)).toEqual(['create_user_story']);
    expect(started.tasks[0]!.payload).toMatchObject({ title: 'Add a sum helper' });

    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    const sha = await sumFeature(fixture.repo, 'autodev/1-add-sum', false);
    await complete('implement_feature', implementation('autodev/1-add-sum', sha));
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    const [merge] = await listApprovals(t.handle.db, { status: 'pending' });
    expect(merge).toMatchObject({ kind: 'merge' });
    await decideApproval(t.handle.db, deps, { id: merge!.id, decision: 'approved', actor: 'cli:alice' });
    // The approval records the decision; the devops' deterministic merge step carries it out.
    expect(await runMergeTasks(queue, deps)).toEqual([expect.objectContaining({ outcome: 'merged' })]);
    expect(await gitOutput(fixture.repo, ['show', 'main:sum.mjs'])).toContain('a + b');

    expect(await runDeploy()).toBe('completed');
    const done = await showStory(t.handle.db, storyId);
    expect(done).toMatchObject({ status: 'completed', stage: 'done', proposal_id: proposal.id });
    expect(done.deployment).toMatchObject({ outcome: 'skipped' });
  });

  it('rejected: the reason is kept, nothing starts, and the decision is final', async () => {
    const proposal = await createProposal(t.handle.db, {
      title: 'Rewrite in Rust',
      body: 'Faster.',
      kind: 'product',
      author: 'cli:bob',
      now: Date.now(),
    });
    const rejected = await decideProposal(t.handle.db, deps, {
      id: proposal.id,
      decision: 'rejected',
      reason: 'Not worth a rewrite now',
      actor: 'cli:alice',
    });
    expect(rejected).toMatchObject({
      status: 'rejected',
      reason: 'Not worth a rewrite now',
      workflow_id: null,
      task_id: null,
    });
    expect(await t.handle.db.selectFrom('tasks').select('id').execute()).toEqual([]);
    expect(await t.handle.db.selectFrom('workflows').select('id').execute()).toEqual([]);
    const event = await t.handle.db
      .selectFrom('events')
      .selectAll()
      .where('kind', '=', 'proposal.rejected')
      .executeTakeFirstOrThrow();
    expect(event.actor).toBe('cli:alice');
    expect(JSON.parse(event.data)).toEqual({ reason: 'Not worth a rewrite now' });
    await expect(
      decideProposal(t.handle.db, deps, { id: proposal.id, decision: 'approved', actor: 'cli:carol' }),
    ).rejects.toMatchObject({ code: 'PROPOSAL_ALREADY_DECIDED' });
  });
});
