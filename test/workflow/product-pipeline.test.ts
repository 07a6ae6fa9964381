/**
 * @module The product pipeline on both databases: an idea (`build_product`) becomes a project proposal (the PM's
 * result, standing for the agent's and passing its contract), the Architect assesses it (`evaluate_feasibility`, the
 * same kind of stand-in; a blocked or failed assessment stops it as `failed` until a human asks again), a human
 * approves it through the generic approval route,
 * the deterministic `create_project_repo` makes its own git repository under `<data-dir>/projects/<name>/`, the normal
 * story pipeline builds it there (real gates, the local forge's merge, deploy), the product directory is checked, a
 * human approves publishing and the deterministic `publish_product` publishes the package to a real local Verdaccio
 * 6.8.0 (npm's registry is the one part this machine cannot reach). Also: a rejected proposal keeps its reason and
 * builds nothing; a deferred one comes back on its date (injected clock, two due checks bring it back once) and by
 * hand; a publish retried after a crash between "sent" and "recorded" finds the earlier version instead of sending it
 * again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import type { GateRunDeps } from '../../src/agents/run-gates.js';
import { pino } from 'pino';
import { publishProduct } from '../../src/publish/publish-product.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { SecretMasker } from '../../src/secrets/secret-masker.js';
import { onWorkflowTaskDeadLettered, type WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { createProposal, decideProposal } from '../../src/workflow/proposals.js';
import {
  bringBackDueProjects,
  deferProject,
  rejectProject,
  reopenProject,
  retryProject,
} from '../../src/workflow/project-decisions.js';
import { listProjects, projectDetail } from '../../src/workflow/projects.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { gitOutput } from '../../src/workspace/git.js';
import { runDevopsTask } from '../support/devops-task.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { ASSESSMENT, slugProductFiles, slugProposal } from '../support/project-fixtures.js';
import { startVerdaccio, type Verdaccio } from '../support/publish/verdaccio.js';
import {
  branchWithFiles,
  completeWithGates,
  gateDeps,
  implementation,
  REVIEW_OK,
  runtimeDeps,
  SEC_OK,
  SPEC,
  STORY,
  TESTS_CLAIMED_OK,
} from './pipeline-fixtures.js';

let verdaccio: Verdaccio;
let npmToken: string;

beforeAll(async () => {
  verdaccio = await startVerdaccio();
  npmToken = await verdaccio.addUser('devops', 'devops-password-1');
});
afterAll(async () => {
  await verdaccio?.stop();
});

let counter = 0;

describe.each(DIALECTS)('%s: the product pipeline', (dialect) => {
  const t = useTestDatabase(dialect);
  let now: number;
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let gates: GateRunDeps;
  let dataDir: string;
  let runtime: AgentRuntimeDeps;
  let name: string;

  beforeEach(() => {
    counter += 1;
    name = `slugger-${dialect}-${process.pid}-${counter}`;
    now = Date.now();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-product-pipeline-'));
    queue = new TaskQueue(t.handle, undefined, () => now);
    deps = workflowDeps(queue, 3);
    gates = gateDeps(queue);
    runtime = {
      ...runtimeDeps(queue, dataDir, { PATH: process.env.PATH, HOME: os.homedir(), NPM_TOKEN: npmToken }),
      publishEndpoints: { npmRegistry: verdaccio.url },
    };
  });
  afterEach(async () => {
    await queue.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const complete = (type: string, result: Record<string, unknown>) =>
    completeWithGates(queue, deps, gates, type, result);

  const runDevops = (type: string) => runDevopsTask(queue, runtime, type);

  /** Every attempt of the pending `type` task fails with `error`, as the worker fails them (dead-letter hook last). */
  async function failForGood(type: string, error: string): Promise<void> {
    for (;;) {
      const task = await queue.claim('architect-1', [type]);
      if (!task) {
        now += 3_600_000; // past the retry's backoff
        continue;
      }
      const dead = await t.handle.db.transaction().execute(async (tx) => {
        const outcome = await queue.fail({ taskId: task.id, workerId: 'architect-1' }, error, tx);
        if (outcome.status === 'failed') await onWorkflowTaskDeadLettered(tx, deps, task, error, 'architect-1');
        return outcome.status === 'failed';
      });
      if (dead) return;
    }
  }

  /** An idea through the PM's proposal: returns the project (pending project approval). */
  async function propose() {
    await queue.enqueue({
      type: 'build_product',
      payload: { idea: 'a slug helper', target: 'npm' },
      createdBy: 'cli:alice',
    });
    await complete('build_product', slugProposal(name));
    const [project] = await listProjects(t.handle.db, { status: 'proposed' });
    expect(project).toMatchObject({ name, status: 'proposed', estimated_tokens: 50_000, targets: ['npm'] });
    // No approval before the Architect's assessment; its task carries the PM's proposal.
    expect(await listApprovals(t.handle.db, { status: 'pending' })).toEqual([]);
    const assess = await complete('evaluate_feasibility', ASSESSMENT);
    expect(assess).toMatchObject({ workflowId: project!.id, createdBy: 'workflow' });
    expect(assess.payload).toMatchObject({ name, spec_markdown: slugProposal(name).spec_markdown, targets: ['npm'] });
    const assessed = await projectDetail(t.handle.db, project!.id);
    expect(assessed.ratings).toEqual({
      market: { score: 5, reason: 'Small but steady', by: 'pm' },
      feasibility: { ...ASSESSMENT.feasibility, by: 'architect' },
      effort: { ...ASSESSMENT.effort, by: 'architect' },
      risk: { ...ASSESSMENT.risk, by: 'architect' },
    });
    expect(assessed.assessment).toMatchObject({ status: 'done', by: 'w1', task_id: assess.id, verdict: 'feasible' });
    return project!;
  }

  async function pendingApproval(kind: string) {
    const pending = (await listApprovals(t.handle.db, { status: 'pending' })).filter((a) => a.kind === kind);
    expect(pending).toHaveLength(1);
    return pending[0]!;
  }

  /** From an approved project to its publish approval: repository, story, gates, merge, deploy, product check. */
  async function buildApproved(projectId: number) {
    expect(await runDevops('create_project_repo')).toBe('completed');
    const repoDir = path.join(dataDir, 'projects', name);
    const building = await projectDetail(t.handle.db, projectId);
    expect(building).toMatchObject({ status: 'building', repo: name });
    expect(building.story_id).not.toBeNull();

    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const spec = await pendingApproval('spec');
    await decideApproval(t.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'cli:alice' });
    const branch = `autodev/${building.story_id}-product`;
    const sha = await branchWithFiles(repoDir, branch, 'main', slugProductFiles(name));
    await complete('implement_feature', implementation(branch, sha, Object.keys(slugProductFiles(name))));
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    const merge = await pendingApproval('merge');
    await decideApproval(t.handle.db, deps, { id: merge.id, decision: 'approved', actor: 'cli:alice' });
    expect(await runMergeTasks(queue, deps)).toEqual([expect.objectContaining({ outcome: 'merged' })]);
    expect(await gitOutput(repoDir, ['show', 'main:product.json'])).toContain(name);
    expect(await runDevops('deploy')).toBe('completed');
    const ready = await projectDetail(t.handle.db, projectId);
    expect(ready).toMatchObject({ status: 'awaiting_publish', product_dir: repoDir });
    return ready;
  }

  it('an idea is proposed, approved, built on its own repository and published to Verdaccio through both approvals', async () => {
    const project = await propose();
    const approval = await pendingApproval('project');
    expect(approval).toMatchObject({
      subject_type: 'project',
      subject_id: String(project.id),
      workflow_id: project.id,
    });
    // The generic approval route decides a project approval like `projects approve`.
    await decideApproval(t.handle.db, deps, { id: approval.id, decision: 'approved', actor: 'api:alice' });
    const ready = await buildApproved(project.id);

    const publish = await pendingApproval('publish');
    expect(ready.publish_approval_id).toBe(publish.id);
    await decideApproval(t.handle.db, deps, { id: publish.id, decision: 'approved', actor: 'cli:alice' });
    expect(await runDevops('publish_product')).toBe('completed');

    const done = await projectDetail(t.handle.db, project.id);
    expect(done).toMatchObject({ status: 'published', decisions: [{ decision: 'approved', by: 'api:alice' }] });
    expect(done.publications).toEqual([
      expect.objectContaining({ target: 'npm', status: 'published', url: expect.stringContaining(name) }),
    ]);
    const registry = await fetch(`${verdaccio.url}${name}`, { headers: { authorization: `Bearer ${npmToken}` } });
    expect(((await registry.json()) as { versions: Record<string, unknown> }).versions).toHaveProperty('1.0.0');
    // No secret value reached the database.
    const stored = JSON.stringify(await t.handle.db.selectFrom('events').selectAll().execute());
    expect(stored).not.toContain(npmToken);
  });

  it('a publish retried after a crash between "sent" and "recorded" finds the earlier version, not a second publish', async () => {
    const project = await propose();
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('project')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    const ready = await buildApproved(project.id);
    // The first attempt sent the package, then crashed before recording anything: its journal is lost.
    const lost = await publishProduct({
      productDir: ready.product_dir!,
      stateDir: fs.mkdtempSync(path.join(dataDir, 'lost-journal-')),
      endpoints: { npmRegistry: verdaccio.url },
      readSecret: (secret) => (secret === 'npm/token' ? npmToken : undefined),
      masker: new SecretMasker(),
    });
    expect(lost.outcomes[0]).toMatchObject({ status: 'published' });
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('publish')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    expect(await runDevops('publish_product')).toBe('completed');
    const done = await projectDetail(t.handle.db, project.id);
    expect(done.status).toBe('published');
    expect(done.publications).toEqual([expect.objectContaining({ target: 'npm', status: 'already_published' })]);
  });

  it('a failed publish leaves a clear state (which target, why) and a retry by hand publishes it', async () => {
    const project = await propose();
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('project')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    await buildApproved(project.id);
    await decideApproval(t.handle.db, deps, {
      id: (await pendingApproval('publish')).id,
      decision: 'approved',
      actor: 'cli:alice',
    });
    // The npm token is not in the secret store yet.
    runtime = { ...runtime, env: { ...runtime.env, NPM_TOKEN: undefined } };
    expect(await runDevops('publish_product')).toBe('failed');
    const failed = await projectDetail(t.handle.db, project.id);
    expect(failed.status).toBe('failed');
    expect(failed.publications).toEqual([
      expect.objectContaining({ target: 'npm', status: 'failed', url: null, error: 'not set: npm/token' }),
    ]);
    const task = await t.handle.db
      .selectFrom('tasks')
      .select(['status', 'error'])
      .where('type', '=', 'publish_product')
      .executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'failed', error: expect.stringContaining('npm: not set: npm/token') });

    runtime = { ...runtime, env: { ...runtime.env, NPM_TOKEN: npmToken } };
    await retryProject(deps, project.id, 'cli:alice');
    expect(await runDevops('publish_product')).toBe('completed');
    const done = await projectDetail(t.handle.db, project.id);
    expect(done.status).toBe('published');
    expect(done.publications).toEqual([expect.objectContaining({ target: 'npm', status: 'published' })]);
    await expect(retryProject(deps, project.id, 'cli:alice')).rejects.toMatchObject({ code: 'PROJECT_NOT_DECIDABLE' });
  });

  it("a blocked or failed assessment leaves the project failed with why; a human's retry asks the Architect again", async () => {
    await queue.enqueue({ type: 'build_product', payload: { idea: 'a slug helper' }, createdBy: 'cli:alice' });
    await complete('build_product', slugProposal(name));
    const [project] = await listProjects(t.handle.db);
    const id = project!.id;
    await complete('evaluate_feasibility', {
      status: 'blocked',
      summary: 'Cannot assess.',
      blocked_reason: 'The spec does not say which Node versions to support',
    });
    const blocked = await projectDetail(t.handle.db, id);
    expect(blocked).toMatchObject({
      status: 'failed',
      approval_id: null,
      assessment: {
        status: 'failed',
        error: 'the Architect could not assess it: The spec does not say which Node versions to support',
      },
      ratings: { feasibility: null, effort: null, risk: null },
    });
    await expect(rejectProject(t.handle.db, deps, { id, actor: 'cli:bob', reason: 'no' })).rejects.toMatchObject({
      code: 'PROJECT_NOT_DECIDABLE',
    });

    expect(await retryProject(deps, id, 'cli:alice')).toEqual({ retried: 'evaluate_feasibility' });
    expect((await projectDetail(t.handle.db, id)).assessment.status).toBe('pending');
    // The second attempt dies (out of attempts): the dead-letter hook fails the assessment with the error.
    await failForGood('evaluate_feasibility', 'the session timed out');
    const died = await projectDetail(t.handle.db, id);
    expect(died).toMatchObject({
      status: 'failed',
      assessment: { status: 'failed', error: expect.stringContaining('timed out') },
    });

    await retryProject(deps, id, 'cli:alice');
    await complete('evaluate_feasibility', ASSESSMENT);
    expect(await projectDetail(t.handle.db, id)).toMatchObject({ status: 'proposed', assessment: { status: 'done' } });
    expect(await pendingApproval('project')).toMatchObject({ workflow_id: id });
    const tasks = await t.handle.db
      .selectFrom('tasks')
      .select('status')
      .where('type', '=', 'evaluate_feasibility')
      .orderBy('id')
      .execute();
    expect(tasks.map((row) => row.status)).toEqual(['completed', 'failed', 'completed']);
  });

  it("an agent's swarm product proposal, approved by a human, goes the same way: build_product, then a project", async () => {
    const idea = await createProposal(t.handle.db, {
      title: 'A slug helper',
      body: 'People keep asking for one.',
      kind: 'product',
      author: 'pm@host:1#0',
      now,
    });
    const approved = await decideProposal(t.handle.db, deps, { id: idea.id, decision: 'approved', actor: 'cli:alice' });
    expect(approved.task_id).not.toBeNull();
    await complete('build_product', slugProposal(name));
    await complete('evaluate_feasibility', ASSESSMENT);
    const [project] = await listProjects(t.handle.db);
    const detail = await projectDetail(t.handle.db, project!.id);
    expect(detail).toMatchObject({ name, status: 'proposed', idea: 'A slug helper\n\nPeople keep asking for one.' });
    expect(await pendingApproval('project')).toMatchObject({ workflow_id: project!.id });
  });

  it('a rejected proposal keeps its reason and builds nothing; bad input changes nothing', async () => {
    const project = await propose();
    await expect(
      rejectProject(t.handle.db, deps, { id: project.id, actor: 'cli:bob', reason: '  ' }),
    ).rejects.toMatchObject({
      code: 'REASON_REQUIRED',
    });
    await expect(rejectProject(t.handle.db, deps, { id: 9999, actor: 'cli:bob', reason: 'no' })).rejects.toMatchObject({
      code: 'PROJECT_NOT_FOUND',
    });
    expect((await projectDetail(t.handle.db, project.id)).status).toBe('proposed');
    await rejectProject(t.handle.db, deps, { id: project.id, actor: 'cli:bob', reason: 'Too small to sell' });
    const rejected = await projectDetail(t.handle.db, project.id);
    expect(rejected).toMatchObject({
      status: 'rejected',
      repo: null,
      story_id: null,
      decisions: [{ decision: 'rejected', by: 'cli:bob', reason: 'Too small to sell' }],
    });
    const tasks = await t.handle.db.selectFrom('tasks').select('type').execute();
    expect(tasks.map((task) => task.type)).toEqual(['build_product', 'evaluate_feasibility']);
    expect(await t.handle.db.selectFrom('repositories').select('id').execute()).toEqual([]);
    await expect(reopenProject(t.handle.db, deps, { id: project.id, actor: 'cli:bob' })).rejects.toMatchObject({
      code: 'PROJECT_NOT_DECIDABLE',
    });
  });

  it('a deferred proposal comes back on its date (once, whoever checks) and by hand', async () => {
    const project = await propose();
    const day = 24 * 3600 * 1000;
    await expect(
      deferProject(t.handle.db, deps, { id: project.id, actor: 'cli:carol', notes: '', until: now + day }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await deferProject(t.handle.db, deps, {
      id: project.id,
      actor: 'cli:carol',
      notes: 'After the launch',
      until: now + day,
    });
    const deferred = await projectDetail(t.handle.db, project.id);
    expect(deferred).toMatchObject({ status: 'deferred', deferred_until: new Date(now + day).toISOString() });
    expect(await listApprovals(t.handle.db, { status: 'pending' })).toEqual([]);
    expect(await bringBackDueProjects(t.handle.db, deps, 'scheduler')).toEqual([]);

    now += day;
    // Two schedulers' due checks at once (one a Scheduler ticking as `autodev up` wires it) bring it back once.
    const scheduler = new Scheduler({
      queue,
      schedules: [],
      tickMs: 1000,
      logger: pino({ level: 'silent' }),
      dueChecks: [{ name: 'deferred projects', run: () => bringBackDueProjects(t.handle.db, deps, 'scheduler-a') }],
    });
    await scheduler.prepare();
    const [, other] = await Promise.all([scheduler.tick(), bringBackDueProjects(t.handle.db, deps, 'scheduler-b')]);
    const broughtBack = await t.handle.db
      .selectFrom('events')
      .select('actor')
      .where('kind', '=', 'project.brought_back')
      .execute();
    expect(broughtBack).toHaveLength(1);
    expect(other).toEqual(broughtBack[0]!.actor === 'scheduler-b' ? [project.id] : []);
    const back = await projectDetail(t.handle.db, project.id);
    expect(back).toMatchObject({ status: 'proposed', deferred_until: null });
    expect(back.decisions.map((d) => [d.decision, d.reason])).toEqual([
      ['deferred', 'After the launch'],
      ['brought_back', null],
    ]);
    const pending = await pendingApproval('project');
    expect(back.approval_id).toBe(pending.id);

    // Deferred with no date: only a human brings it back.
    await deferProject(t.handle.db, deps, { id: project.id, actor: 'cli:carol', notes: 'Ask sales', until: null });
    now += 365 * day;
    expect(await bringBackDueProjects(t.handle.db, deps, 'scheduler')).toEqual([]);
    await reopenProject(t.handle.db, deps, { id: project.id, actor: 'cli:carol' });
    expect((await projectDetail(t.handle.db, project.id)).status).toBe('proposed');
    await expect(reopenProject(t.handle.db, deps, { id: project.id, actor: 'cli:carol' })).rejects.toMatchObject({
      code: 'PROJECT_NOT_DECIDABLE',
    });
  });
});
