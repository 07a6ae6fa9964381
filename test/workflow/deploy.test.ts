/**
 * @module The DevOps deployment on both engines, through the devops role's real task handler and worker loop (no LLM
 * session): the repository's deploy command on the merged commit, sandboxed with only the secrets its settings name
 * (masked in the recorded output); no deploy command completes the workflow with a plain "nothing was deployed"; a
 * failing deployment waits for a human, and resuming runs it again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAgentTaskHandler } from '../../src/agents/run-agent-task.js';
import { addRepository, updateRepositoryCommands, type RepositoryRow } from '../../src/forge/repositories.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import {
  onWorkflowTaskCompleted,
  resumeWorkflow,
  startStoryWorkflow,
  type MergeExecutor,
  type WorkflowDeps,
} from '../../src/workflow/advance-workflow.js';
import type { StoryState } from '../../src/workflow/workflow-steps.js';
import { gitOutput } from '../../src/workspace/git.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { REVIEW_OK, SEC_OK, SPEC, STORY, TESTS_CLAIMED_OK, implementation, runtimeDeps } from './pipeline-fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

/** The stored result of a deploy task (the parts the tests read). */
interface StoredDeploy {
  outcome: string;
  deploy: { output_tail: string; duration_ms: number };
  [key: string]: unknown;
}

const TOKEN = 'fly-token-5f1c9a7e2b';
const OTHER = 'other-secret-value-99';

describe.each(DIALECTS)('%s: deployment', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let dataDir: string;

  beforeEach(async () => {
    fixture = await makeRepo();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-deploy-data-'));
    queue = new TaskQueue(t.handle);
    const merge: MergeExecutor = async () => ({
      type: 'merged',
      sha: await gitOutput(fixture.repo, ['rev-parse', 'main']),
    });
    deps = { queue, maxFixRounds: 3, merge };
  });
  afterEach(async () => {
    await queue.close();
    await fixture.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function complete(type: string, result: unknown) {
    const task = await queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type} task`);
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
      await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
    });
  }

  /** A story on `repo` taken to its deploy task (the merge itself is not what is tested here). */
  async function toDeploy(repo: RepositoryRow): Promise<number> {
    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Ship',
      body: 'b',
      repoId: repo.id,
      createdBy: 'cli',
    });
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    await complete('implement_feature', implementation('autodev/1-ship', 'aaaaaaa'));
    await complete('review_mr', REVIEW_OK);
    await complete('run_tests', TESTS_CLAIMED_OK);
    await complete('security_scan', SEC_OK);
    const [merge] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: merge!.id, decision: 'approved', actor: 'cli:alice' });
    return wf.id;
  }

  /** The devops worker loop runs the one pending deploy task to its end. */
  async function runDeploy(env: Record<string, string | undefined>) {
    const runtime = runtimeDeps(queue, dataDir, { PATH: process.env.PATH, HOME: os.homedir(), ...env });
    const stop = new AbortController();
    let settled!: (outcome: string) => void;
    const ended = new Promise<string>((resolve) => (settled = resolve));
    const errors: unknown[] = [];
    const loop = runWorker({
      queue,
      workerId: 'devops-1',
      types: ['deploy'],
      signal: stop.signal,
      idleWaitMs: 20,
      handler: createAgentTaskHandler(runtime, 'devops'),
      onTaskEnd: (_task, outcome) => settled(outcome),
      onError: (error) => void errors.push(error),
    });
    const outcome = await ended;
    stop.abort();
    await loop;
    expect(errors).toEqual([]);
    expect(outcome).toBe('completed');
    const task = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'deploy')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    return { task, result: JSON.parse(task.result!) as StoredDeploy };
  }

  const workflow = async (id: number) => {
    const row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { ...row, parsed: JSON.parse(row.state) as StoryState };
  };

  it('runs the deploy command on the merged commit with only the named secrets, masked in the record', async () => {
    const command =
      'echo "deploying with $FLY_API_TOKEN"; test -n "$FLY_API_TOKEN" && test -z "$OTHER_SECRET" && ' +
      'test -z "$DATABASE_URL" && git rev-parse HEAD';
    const repo = await addRepository(
      t.handle.db,
      { path: fixture.repo, deployCommand: command, deploySecrets: ['FLY_API_TOKEN'], actor: 'test', now: Date.now() },
      '/',
    );
    const wf = await toDeploy(repo);
    const merged = await gitOutput(fixture.repo, ['rev-parse', 'main']);
    const { task, result } = await runDeploy({
      FLY_API_TOKEN: TOKEN,
      OTHER_SECRET: OTHER,
      DATABASE_URL: 'postgres://x',
    });
    expect(result).toMatchObject({
      status: 'done',
      outcome: 'succeeded',
      version: merged,
      deterministic: true,
      deploy: {
        outcome: 'succeeded',
        command,
        commit: merged,
        exit_code: 0,
        timed_out: false,
        secrets_passed: ['FLY_API_TOKEN'],
        secrets_missing: [],
      },
    });
    expect(result.deploy.output_tail).toContain('deploying with ***');
    expect(result.deploy.output_tail).toContain(merged);
    expect(result.deploy.duration_ms).toBeGreaterThan(0);
    expect(task.result).not.toContain(TOKEN);
    const events = await t.handle.db.selectFrom('events').select('data').execute();
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(await workflow(wf)).toMatchObject({ status: 'completed', stage: 'done' });
    expect((await workflow(wf)).parsed.deployment).toMatchObject({ outcome: 'succeeded' });
    // No LLM session ran for it.
    expect(await t.handle.db.selectFrom('sessions').select('id').execute()).toEqual([]);
  });

  it('records a plain no-op without a deploy command and completes the workflow with that outcome', async () => {
    const repo = await addRepository(
      t.handle.db,
      { path: fixture.repo, name: 'shop', actor: 'test', now: Date.now() },
      '/',
    );
    const wf = await toDeploy(repo);
    const { result } = await runDeploy({});
    const said = 'no deploy command is configured for repository shop; nothing was deployed';
    expect(result).toMatchObject({ status: 'done', outcome: 'skipped', summary: said, steps: [] });
    expect(result.deploy).toMatchObject({ outcome: 'skipped', command: null, exit_code: null });
    const row = await workflow(wf);
    expect(row).toMatchObject({ status: 'completed', stage: 'done' });
    expect(row.parsed.deployment).toEqual({ outcome: 'skipped', summary: said });
  });

  it('waits for a human when the deployment fails, and deploys again on resume', async () => {
    const repo = await addRepository(
      t.handle.db,
      {
        path: fixture.repo,
        deployCommand: 'echo "target unreachable" >&2; exit 7',
        deploySecrets: ['FLY_API_TOKEN'],
        actor: 'test',
        now: Date.now(),
      },
      '/',
    );
    const wf = await toDeploy(repo);
    const first = await runDeploy({});
    expect(first.result).toMatchObject({
      outcome: 'failed',
      deploy: { exit_code: 7, secrets_passed: [], secrets_missing: ['FLY_API_TOKEN'] },
    });
    expect(first.result.deploy.output_tail).toContain('target unreachable');
    let row = await workflow(wf);
    expect(row).toMatchObject({ status: 'waiting_for_human' });
    expect(row.parsed.humanSummary).toContain('ended failed');
    expect(row.parsed.halt).toMatchObject({ kind: 'task', taskType: 'deploy', stage: 'deploy' });

    await updateRepositoryCommands(
      t.handle.db,
      repo.id,
      { deployCommand: 'echo deployed' },
      { actor: 'test', now: Date.now() },
    );
    await resumeWorkflow(t.handle.db, deps, wf, { note: 'target is back', actor: 'cli:alice' });
    const second = await runDeploy({ FLY_API_TOKEN: TOKEN });
    expect(second.result).toMatchObject({ outcome: 'succeeded' });
    expect(JSON.parse(second.task.payload)).toMatchObject({ note: 'target is back' });
    row = await workflow(wf);
    expect(row).toMatchObject({ status: 'completed', stage: 'done' });
  });

  it('refuses invalid deploy secret names and coverage thresholds, writing nothing', async () => {
    const add = (extra: Record<string, unknown>) =>
      addRepository(t.handle.db, { path: fixture.repo, actor: 'test', now: Date.now(), ...extra }, '/');
    await expect(add({ deploySecrets: ['NOT-A-NAME'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(add({ coverageThreshold: 120 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await t.handle.db.selectFrom('repositories').select('id').execute()).toEqual([]);
  });
});
