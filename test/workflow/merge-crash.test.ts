/**
 * @module A SIGKILL between "merge decided" and "merge recorded", on SQLite and PostgreSQL: the approved merge is a
 * `merge` task; a child process carries it out and a git `reference-transaction` hook in the repository kills it
 * (SIGKILL) the moment `main` is moved to the merge commit, before the outcome is recorded. The task's lease expires,
 * the retry finds its own merge commit on `main` and records it: one merge commit, the merge request merged, the
 * story on to its deployment, nothing merged twice. The same on GitLab (the stand-in over real git HTTP): the hook in
 * the forge's bare repository kills the process while GitLab's merge API call is pending; the retry finds the
 * recorded request merged (no second request opened) and records it once. Needs the build
 * (`dist/test/support/merge-step-process.js`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addForgeRepository } from '../../src/forge/add-forge-repository.js';
import { addRepository, type RepositoryRow } from '../../src/forge/repositories.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { git, gitOutput } from '../../src/workspace/git.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { decideApproval, listApprovals } from '../../src/workflow/approvals.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { branchSha, bareGit } from '../support/forge-stand-in-http.js';
import { commitOnBranch } from '../support/forge-clone.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { builtScript } from '../support/worker-processes.js';
import { branchCommit, commitAll, makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

const STORY = { status: 'done', summary: 's', stories: [{ title: 'T', body: 'B', acceptance_criteria: ['a'] }] };
const SPEC = { status: 'done', summary: 's', spec_markdown: '#', files_to_touch: ['a.js'], test_plan: 't', risks: [] };
const GATES = [
  ['review_mr', { status: 'done', summary: 's', verdict: 'approve', findings: [] }],
  ['run_tests', { status: 'done', summary: 's', command: 'x', passed: 1, failed: 0, skipped: 0, failures: [] }],
  ['security_scan', { status: 'done', summary: 's', verdict: 'pass', findings: [] }],
] as const;
const BRANCH = 'autodev/1-sum';
const LEASE_MS = 1500;
const GITLAB_TOKEN = 'glpat-merge-crash';
let gitlab: GitLabStandIn;

beforeAll(async () => {
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(GITLAB_TOKEN, 'swarm-bot');
});
afterAll(async () => {
  await gitlab?.close();
});

/** A git hook that, once `main` moved (committed), marks it and SIGKILLs the process whose pid is in `pidFile`. */
/**
 * Runs the merge step in its own process (the built `merge-step-process.js`) with a `reference-transaction` hook in
 * `hookDir` that SIGKILLs it the moment `main`'s move is committed, and checks it died there; the hook is removed.
 */
async function mergeStepKilledAtMainMove(options: {
  database: string;
  hookDir: string;
  scratch: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<void> {
  const pidFile = path.join(options.scratch, 'merge-step.pid');
  const marker = path.join(options.scratch, 'main-moved');
  const hook = path.join(options.hookDir, 'reference-transaction');
  fs.writeFileSync(
    hook,
    [
      '#!/bin/sh',
      '[ "$1" = committed ] || exit 0',
      'grep -q " refs/heads/main$" || exit 0',
      `touch '${marker}'`,
      `kill -KILL "$(cat '${pidFile}')"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const child = spawn(
    process.execPath,
    [
      builtScript('test/support/merge-step-process.js'),
      '--database',
      options.database,
      '--pid-file',
      pidFile,
      '--lease-ms',
      String(LEASE_MS),
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  expect({ code, signal, stderr }).toMatchObject({ signal: 'SIGKILL' });
  expect(fs.existsSync(marker)).toBe(true);
  fs.rmSync(hook);
}

/** Reclaims `taskId` once its lease ran out, then runs the merge tasks until one is claimed (positive signals). */
async function retryAfterLease(
  queue: TaskQueue,
  taskId: number,
  run: () => ReturnType<typeof runMergeTasks>,
): ReturnType<typeof runMergeTasks> {
  let reclaimed: number[] = [];
  for (let waited = 0; !reclaimed.includes(taskId) && waited < 20_000; waited += 200) {
    reclaimed = await queue.reclaimExpired();
    if (!reclaimed.includes(taskId)) await sleep(200);
  }
  expect(reclaimed).toContain(taskId);
  let results = await run();
  for (let waited = 0; results.length === 0 && waited < 20_000; waited += 200) {
    await sleep(200);
    results = await run();
  }
  return results;
}

describe.each(DIALECTS)('%s: a crash between the merge and its record', (dialect) => {
  const t = useTestDatabase(dialect);
  let fixture: TestRepo;
  let repo: RepositoryRow;
  let queue: TaskQueue;

  beforeEach(async () => {
    fixture = await makeRepo();
    repo = await addRepository(
      t.handle.db,
      { path: fixture.repo, name: 'sample', actor: 'test', now: Date.now() },
      '/',
    );
    queue = new TaskQueue(t.handle);
  });
  afterEach(async () => {
    await queue.close();
    await fixture.cleanup();
  });

  async function complete(type: string, result: unknown) {
    const task = await queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type}`);
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
      await onWorkflowTaskCompleted(tx, workflowDeps(queue, 3), task, result, 'w1');
    });
  }

  /**
   * A story on `repoId` up to its pending merge approval, approved: spec approved, the builder's commit made by
   * `commit` (returns its sha), implement_feature and the gates completed. Returns the workflow and the head.
   */
  async function approvedForMerge(repoId: number, commit: () => Promise<string>) {
    const deps = workflowDeps(queue, 3);
    const wf = await startStoryWorkflow(t.handle.db, deps, { title: 'Sum', body: 'b', repoId, createdBy: 't' });
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);
    const [spec] = await listApprovals(t.handle.db, { status: 'pending' });
    await decideApproval(t.handle.db, deps, { id: spec!.id, decision: 'approved', actor: 'cli:alice' });
    const head = await commit();
    const work = { status: 'done', summary: 's', branch: BRANCH, commits: [{ sha: head, message: 'm' }] };
    await complete('implement_feature', { ...work, files_changed: ['a.js'] });
    for (const [type, result] of GATES) await complete(type, result);
    const merge = (await listApprovals(t.handle.db, { status: 'pending' })).find((a) => a.kind === 'merge')!;
    await decideApproval(t.handle.db, deps, { id: merge.id, decision: 'approved', actor: 'cli:alice' });
    return { wf, head, deps };
  }

  it('SIGKILLed after main moved: the retry records the merge once and the story goes on to deploy', async () => {
    const before = (await branchCommit(fixture.repo, 'main'))!;
    const { wf, head, deps } = await approvedForMerge(repo.id, async () => {
      await git(fixture.repo, ['checkout', '--quiet', '-b', BRANCH, 'main']);
      await writeFile(path.join(fixture.repo, 'a.js'), 'ok\n');
      const sha = await commitAll(fixture.repo, 'add a.js');
      await git(fixture.repo, ['checkout', '--quiet', 'main']);
      return sha;
    });

    // The fault: the repository's own hook kills the merging process once main's move is committed.
    await mergeStepKilledAtMainMove({
      database: t.databaseUrl ?? t.sqlitePath!,
      hookDir: path.join(fixture.repo, '.git', 'hooks'),
      scratch: fixture.root,
    });

    // Merged in git, not recorded: the request is open, the story still at its merge, the task still leased.
    const merged = (await branchCommit(fixture.repo, 'main'))!;
    expect(merged).not.toBe(before);
    const parents = (await gitOutput(fixture.repo, ['rev-list', '--parents', '-n', '1', 'main'])).split(' ');
    expect(parents.slice(1)).toEqual([before, head]);
    const mr = await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow();
    expect(mr).toMatchObject({ status: 'open', merge_sha: null });
    const wfRow = () =>
      t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
    expect(await wfRow()).toMatchObject({ stage: 'merge', status: 'running' });
    const task = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'merge')
      .executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'in_progress', lease_owner: 'killed' });

    // The lease runs out (the positive signal: the reclaim returns the task), and the retry records the merge.
    let reclaimed: number[] = [];
    for (let waited = 0; !reclaimed.includes(task.id) && waited < 20_000; waited += 200) {
      reclaimed = await queue.reclaimExpired();
      if (!reclaimed.includes(task.id)) await sleep(200);
    }
    expect(reclaimed).toContain(task.id);
    // Claimable again after the retry back-off: wait for the claim (positive signal), not for a time.
    let results = await runMergeTasks(queue, deps);
    for (let waited = 0; results.length === 0 && waited < 20_000; waited += 200) {
      await sleep(200);
      results = await runMergeTasks(queue, deps);
    }
    expect(results).toEqual([expect.objectContaining({ outcome: 'merged', sha: merged })]);
    expect(results[0]!.summary).toContain('an earlier attempt made it');

    // Merged once: main did not move again, one merge commit, the request merged, the story deploying.
    expect(await branchCommit(fixture.repo, 'main')).toBe(merged);
    expect((await gitOutput(fixture.repo, ['rev-list', '--merges', 'main'])).split('\n').filter(Boolean)).toEqual([
      merged,
    ]);
    expect(await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow()).toMatchObject({
      status: 'merged',
      merge_sha: merged,
    });
    const events = await t.handle.db
      .selectFrom('events')
      .select(['kind', 'data'])
      .where('kind', 'in', ['merge_request.merged', 'merge_request.merge_refused'])
      .execute();
    expect(events.map((e) => [e.kind, JSON.parse(e.data) as Record<string, unknown>])).toEqual([
      ['merge_request.merged', expect.objectContaining({ merge_sha: merged, recovered: expect.any(String) })],
    ]);
    expect(await wfRow()).toMatchObject({ stage: 'deploy', status: 'running' });
    const deploys = await t.handle.db.selectFrom('tasks').select('payload').where('type', '=', 'deploy').execute();
    expect(deploys.map((d) => (JSON.parse(d.payload) as { sha?: string }).sha)).toEqual([merged]);
    expect(await runMergeTasks(queue, deps)).toEqual([]);
  });

  it('on GitLab (stand-in): SIGKILLed after the forge moved main, the retry finds the request merged and records it once', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `merge-crash-gitlab-${dialect}-`));
    const context = { dataDir, env: { GITLAB_TOKEN } };
    try {
      const project = `crash/app-${dialect}-${Date.now()}`;
      const state = await gitlab.createProject(project);
      const forgeRepo = await addForgeRepository(
        t.handle.db,
        { forge: 'gitlab', baseUrl: gitlab.url, project, actor: 'test', now: Date.now() },
        context,
      );
      const before = (await branchSha(state.bare, 'main'))!;
      const { wf, head, deps } = await approvedForMerge(forgeRepo.id, () =>
        commitOnBranch(forgeRepo.location, BRANCH, { 'a.js': 'ok\n' }, 'add a.js'),
      );

      // The fault: the forge's repository kills the merging process once GitLab moved main (its API call pending).
      await mergeStepKilledAtMainMove({
        database: t.databaseUrl ?? t.sqlitePath!,
        hookDir: path.join(state.bare, 'hooks'),
        scratch: dataDir,
        args: ['--data-dir', dataDir],
        env: { ...process.env, GITLAB_TOKEN },
      });

      // Merged in the forge, not recorded here.
      const merged = (await branchSha(state.bare, 'main'))!;
      expect(merged).not.toBe(before);
      const parents = (await bareGit(state.bare, ['rev-list', '--parents', '-n', '1', merged])).stdout.trim();
      expect(parents.split(' ').slice(1)).toEqual([before, head]);
      expect(await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow()).toMatchObject({
        status: 'open',
        merge_sha: null,
      });
      const task = await t.handle.db
        .selectFrom('tasks')
        .selectAll()
        .where('type', '=', 'merge')
        .executeTakeFirstOrThrow();
      expect(task).toMatchObject({ status: 'in_progress', lease_owner: 'killed' });

      const results = await retryAfterLease(queue, task.id, () => runMergeTasks(queue, deps, context));
      expect(results).toEqual([expect.objectContaining({ outcome: 'merged', sha: merged })]);
      expect(results[0]!.summary).toContain('an earlier attempt made it');
      // Merged once: one merge request in GitLab, merged; main not moved again; the story deploying.
      expect(await branchSha(state.bare, 'main')).toBe(merged);
      expect(gitlab.project(project).mergeRequests.map((m) => m.state)).toEqual(['merged']);
      expect(await t.handle.db.selectFrom('merge_requests').selectAll().executeTakeFirstOrThrow()).toMatchObject({
        status: 'merged',
        merge_sha: merged,
      });
      expect(
        await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow(),
      ).toMatchObject({ stage: 'deploy', status: 'running' });
      expect(await runMergeTasks(queue, deps, context)).toEqual([]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
