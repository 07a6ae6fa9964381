/**
 * @module End to end on both engines, a story that lives in a forge: a GitLab issue (GitHub issue) labelled for the
 * swarm, delivered as the documented webhook payload with the hook's secret, becomes a story; scripted agent results
 * (the way test/workflow drives stories: each task claimed, its deterministic gates run before the completing
 * transaction as the agent runtime runs them, then completed with the workflow step) carry it through; the builder's
 * branch is pushed to the forge STAND-IN over real git HTTP, the merge request (pull request) opened there at gate
 * time with each gate's verdict as a note and the reviewer's located finding as a line comment; the tests gate reads
 * the pushed head's pipeline (checks) in the stand-in; the spec is approved by a label (a comment); an approval IN THE
 * FORGE by a user not allowed to approve is recorded as ignored and changes nothing, and one by an allowed user decides
 * the merge approval under their name; the merge is done through the forge API and the stand-in's repository shows the
 * merge commit on `main`. A failed pipeline on the swarm branch starts `implement_fix` carrying the failing job's log,
 * fetched by the webhook service through the real forge client. The forges are local stand-ins (no GitLab or GitHub
 * is reachable here) answering their documented REST payloads.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { publishGateVerdict } from '../../src/agents/publish-gate-verdict.js';
import { runTaskGates } from '../../src/agents/run-gates.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { addForgeRepository } from '../../src/forge/add-forge-repository.js';
import type { ForgeClientContext, ForgeRepository } from '../../src/forge/forge-client.js';
import { forgeRepository } from '../../src/forge/forge-clients.js';
import { GitHubClient } from '../../src/forge/github-client.js';
import { GitLabClient } from '../../src/forge/gitlab-client.js';
import type { RepositoryRow } from '../../src/forge/repositories.js';
import { createLogger } from '../../src/log.js';
import type { Task } from '../../src/queue/task-record.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { onWorkflowTaskCompleted, type WorkflowDeps } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { githubSignature } from '../../src/webhooks/verify-delivery.js';
import { git } from '../../src/workspace/git.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { bareGit, branchSha } from '../support/forge-stand-in-http.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { checkedResult } from '../support/result-fixtures.js';
import { issueHook, mergeRequestHook, pipelineHook, GITLAB_PROJECT } from '../webhooks/gitlab-payloads.js';
import {
  SEC_OK,
  branchWithFiles,
  SPEC,
  STORY,
  TESTS_CLAIMED_OK,
  gateDeps,
  implementation,
  sumFeature,
} from '../workflow/pipeline-fixtures.js';

vi.setConfig({ testTimeout: 120_000 });

const require = createRequire(import.meta.url);
const GITHUB_EXAMPLES = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documented payloads, edited field by field below
type Payload = Record<string, any>;
function githubExample(name: string, index: number): Payload {
  return structuredClone(GITHUB_EXAMPLES.find((e) => e.name === name)!.examples[index]!) as Payload;
}

const GITLAB_SECRET = 'gitlab-hook-secret-e2e-0123456789';
const GITHUB_SECRET = 'github-hook-secret-e2e-0123456789';
const SWARM_TOKEN = 'swarm-bot-token';
const MAINTAINER_TOKEN = 'maintainer-token';
const INTRUDER_TOKEN = 'intruder-token';

/** The reviewer approves with one located finding: it becomes a line comment on the merge request. */
const REVIEW_WITH_NOTE = {
  status: 'done',
  summary: 'looks right',
  verdict: 'approve',
  findings: [{ severity: 'minor', file: 'sum.mjs', line: 2, message: 'name the operands' }],
};

let gitlab: GitLabStandIn;
let github: GitHubStandIn;
beforeAll(async () => {
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(SWARM_TOKEN, 'swarm-bot');
  gitlab.addUser(MAINTAINER_TOKEN, 'maintainer');
  gitlab.addUser(INTRUDER_TOKEN, 'intruder');
  github = await new GitHubStandIn().start();
  github.addUser(SWARM_TOKEN, 'swarm-bot');
  github.addUser(MAINTAINER_TOKEN, 'octocat');
  github.addUser(INTRUDER_TOKEN, 'mallory');
});
afterAll(async () => {
  await gitlab?.close();
  await github?.close();
});

describe.each(DIALECTS)('%s: a forge story end to end (GitLab and GitHub stand-ins)', (dialect) => {
  const t = useTestDatabase(dialect);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `forge-story-${dialect}-`));
  const env = {
    AUTODEV_GITLAB_WEBHOOK_SECRET: GITLAB_SECRET,
    AUTODEV_GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    GITLAB_TOKEN: SWARM_TOKEN,
    GITHUB_TOKEN: SWARM_TOKEN,
  };
  const context: ForgeClientContext = { dataDir, env };
  let app: FastifyInstance;
  let queue: TaskQueue;
  let deps: WorkflowDeps;
  let delivery = 0;

  beforeAll(async () => {
    queue = new TaskQueue(t.handle);
    deps = workflowDeps(queue, 3);
    // The server's webhook routes with the real failed-job log fetcher (the forge client; dataDir given).
    app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: '0.0.0-test',
      settings: SettingsSchema.parse({ webhooks: { approvers: ['maintainer', 'octocat'] } }),
      env,
      dataDir,
      api: false,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await queue?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const deliveryId = () => `00000000-0000-4000-8000-${dialect.length}${String(++delivery).padStart(11, '0')}`;

  function toGitlab(event: string, body: unknown) {
    return app.inject({
      method: 'POST',
      url: '/webhooks/gitlab',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': event,
        'x-gitlab-token': GITLAB_SECRET,
        'x-gitlab-event-uuid': deliveryId(),
      },
      payload: JSON.stringify(body),
    });
  }

  function toGithub(event: string, body: unknown) {
    const raw = Buffer.from(JSON.stringify(body));
    return app.inject({
      method: 'POST',
      url: '/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': deliveryId(),
        'x-hub-signature-256': githubSignature(raw, GITHUB_SECRET),
      },
      payload: raw,
    });
  }

  /**
   * Claims the pending task of `type` and finishes it as the agent runtime does: its deterministic gate (here: the
   * pushed head's pipeline in the forge, the secret scan) and the verdict's publication on the merge request in the
   * forge, both before the completing transaction; then completion and workflow step in one transaction.
   */
  async function complete(type: string, result: Record<string, unknown>): Promise<Task> {
    checkedResult(type, result);
    const task = await queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type} task`);
    const gate = await runTaskGates(
      { ...gateDeps(queue), forge: { context, pipelineTimeoutMs: 30_000, pipelineAppearMs: 0, pipelinePollMs: 100 } },
      task,
    );
    const stored: Record<string, unknown> = gate
      ? { ...result, gates: { ...gate.record, ...(gate.verdict ? { verdict: gate.verdict } : {}) } }
      : { ...result };
    const forge = await publishGateVerdict(
      {
        db: t.handle.db,
        serializesWriters: t.handle.dialect.serializesWriters,
        forge: context,
        clock: Date.now,
        actor: 'w1',
      },
      task,
      stored,
      gate?.verdict,
    );
    if (forge) stored.forge = forge;
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId: 'w1' }, stored, tx);
      await onWorkflowTaskCompleted(tx, deps, task, stored, 'w1', gate?.verdict);
    });
    return task;
  }

  const workflowOf = (id: number) =>
    t.handle.db.selectFrom('workflows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const approvalOf = (workflowId: number, kind: 'spec' | 'merge') =>
    t.handle.db
      .selectFrom('approvals')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow();
  const storedResult = async (taskId: number) =>
    JSON.parse(
      (await t.handle.db.selectFrom('tasks').select('result').where('id', '=', taskId).executeTakeFirstOrThrow())
        .result!,
    ) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a stored result, read loosely

  /** The builder's work: the `sum` feature on a task branch of the local clone. */
  async function build(repo: RepositoryRow): Promise<{ branch: string; head: string }> {
    const task = await queue.handle.db
      .selectFrom('tasks')
      .select('id')
      .where('type', '=', 'implement_feature')
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    const branch = `autodev/${task.id}-add-sum`;
    const head = await sumFeature(repo.location, branch, false);
    await complete('implement_feature', implementation(branch, head, ['sum.mjs', 'test/sum.test.mjs']));
    return { branch, head };
  }

  /** The three gates; `beforeTests` runs once the tests gate is next (the forge's pipeline for the head). */
  async function gates(beforeTests: () => void) {
    const review = await complete('review_mr', REVIEW_WITH_NOTE);
    beforeTests();
    const tests = await complete('run_tests', TESTS_CLAIMED_OK);
    const security = await complete('security_scan', SEC_OK);
    return { review, tests, security };
  }

  /** The merge commit on the stand-in's `main`: two parents, the second the branch head. */
  async function expectMergeCommit(bare: string, head: string) {
    const main = (await branchSha(bare, 'main'))!;
    const parents = (await bareGit(bare, ['rev-list', '--parents', '-n', '1', main])).stdout.trim().split(' ');
    expect(parents).toHaveLength(3);
    expect(parents[2]).toBe(head);
    expect((await bareGit(bare, ['show', `${main}:sum.mjs`])).stdout).toContain('a + b');
    return main;
  }

  it('turns a labelled GitLab issue into a merged merge request on the stand-in, approved in the forge', async () => {
    const project = `swarm/app-${dialect}`;
    const state = await gitlab.createProject(project);
    const repo = await addForgeRepository(
      t.handle.db,
      { forge: 'gitlab', baseUrl: gitlab.url, project, actor: 'test', now: Date.now() },
      context,
    );
    const projectPayload = {
      ...GITLAB_PROJECT,
      name: project.split('/')[1],
      web_url: `${gitlab.url}/${project}`,
      git_http_url: gitlab.remoteUrl(project),
      git_ssh_url: `git@127.0.0.1:${project}.git`,
      path_with_namespace: project,
      default_branch: 'main',
    };
    const hook = <T extends object>(payload: T) => ({ ...payload, project: projectPayload });

    // The issue labelled for the swarm becomes a story.
    const labelled = await toGitlab('Issue Hook', hook(issueHook({ labels: ['autodev'], iid: 7 })));
    expect(labelled.statusCode, labelled.body).toBe(200);
    const workflowId = (JSON.parse(labelled.body) as { workflow_id: number }).workflow_id;
    expect((await workflowOf(workflowId)).created_by).toBe('gitlab:root');
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);

    // The spec approved by the label, given by an approver.
    const specLabel = hook(issueHook({ labels: ['autodev', 'autodev-spec-approved'], iid: 7, username: 'maintainer' }));
    expect((await toGitlab('Issue Hook', specLabel)).statusCode).toBe(200);
    expect(await approvalOf(workflowId, 'spec')).toMatchObject({ status: 'approved', decided_by: 'gitlab:maintainer' });

    // Round 0: the pipeline of the pushed head fails; the tests gate fails with the failing job's trace.
    const first = await build(repo);
    await gates(() =>
      gitlab.addPipeline(project, first.head, 'failed', [
        { name: 'lint', status: 'success' },
        { name: 'unit', status: 'failed', trace: 'not ok 1 - sum adds large numbers\n  expected 3e9, got NaN\n' },
      ]),
    );
    const [outdated] = gitlab.project(project).mergeRequests;
    expect(outdated).toMatchObject({ sourceBranch: first.branch, targetBranch: 'main' });
    expect(outdated!.notes.map((n) => n.body.split('\n')[0])).toContain(
      `**Tests (tester): failed** (Auto-Dev, round 0, head ${first.head.slice(0, 12)})`,
    );
    const fixTask = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('type', '=', 'implement_fix')
      .where('workflow_id', '=', workflowId)
      .executeTakeFirstOrThrow();
    expect(fixTask.payload).toContain('pipeline job \\"unit\\" failed');
    expect(fixTask.payload).toContain('expected 3e9, got NaN');

    // Round 1: the builder's fix on a new branch from the first; its pipeline passes.
    const branch = `autodev/${fixTask.id}-fix-sum`;
    const head = await branchWithFiles(repo.location, branch, first.branch, { 'big.mjs': 'export const big = 3e9;\n' });
    await complete('implement_fix', implementation(branch, head, ['big.mjs']));
    const done = await gates(() => gitlab.addPipeline(project, head, 'success', [{ name: 'unit', status: 'success' }]));

    // The branch is on the stand-in, the merge request open there with the verdicts as notes and a line comment.
    expect(await branchSha(state.bare, branch)).toBe(head);
    const mr = gitlab.project(project).mergeRequests.find((m) => m.sourceBranch === branch);
    expect(mr).toMatchObject({ sourceBranch: branch, targetBranch: 'main' });
    const notes = mr!.notes.map((n) => n.body);
    expect(notes.filter((n) => /^\*\*(Review|Tests|Security) .*: passed\*\*/.test(n))).toHaveLength(3);
    expect(mr!.notes.some((n) => n.position?.new_path === 'sum.mjs' && n.position.new_line === 2)).toBe(true);
    const rows = await t.handle.db
      .selectFrom('merge_requests')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .orderBy('id')
      .execute();
    expect(rows.map((r) => [r.source_branch, r.status, r.external_id])).toEqual([
      [first.branch, 'closed', String(outdated!.iid)],
      [branch, 'open', String(mr!.iid)],
    ]);
    expect(rows[1]).toMatchObject({ head_sha: head });
    expect(rows[1]!.url).toContain(`/${project}/-/merge_requests/${mr!.iid}`);
    const tests = await storedResult(done.tests.id);
    expect(tests.gates.pipeline).toMatchObject({ outcome: 'passed', sha: head });
    expect(tests.forge).toMatchObject({ merge_request: { external_id: String(mr!.iid) }, note: { passed: true } });
    expect((await storedResult(done.review.id)).forge.line_comments).toBe(1);
    expect((await workflowOf(workflowId)).stage).toBe('merge_approval');

    // A failed pipeline on the swarm branch: implement_fix with the failing job's log, read through the GitLab client.
    const failed = gitlab.addPipeline(project, head, 'failed', [
      { name: 'lint', status: 'success' },
      { name: 'unit', status: 'failed', trace: 'not ok 1 - sum adds\n  expected 3, got -1\n' },
    ]);
    const pipelinePayload = hook(pipelineHook({ status: 'failed', ref: branch, id: failed.id }));
    pipelinePayload.builds = [
      { id: failed.jobIds[0]!, stage: 'test', name: 'lint', status: 'success' },
      { id: failed.jobIds[1]!, stage: 'test', name: 'unit', status: 'failed' },
    ];
    const fix = await toGitlab('Pipeline Hook', pipelinePayload);
    expect(fix.statusCode, fix.body).toBe(200);
    const hookFix = await t.handle.db
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', (JSON.parse(fix.body) as { task_id: number }).task_id)
      .executeTakeFirstOrThrow();
    expect(hookFix.type).toBe('implement_fix');
    expect(hookFix.payload).toContain('expected 3, got -1');

    // An approval in the forge by a user not allowed to approve: recorded as ignored, nothing decided.
    const asUser = (token: string) =>
      new GitLabClient(forgeRepository(repo), { dataDir, env: { GITLAB_TOKEN: token } });
    await asUser(INTRUDER_TOKEN).approve(String(mr!.iid));
    const intruder = await toGitlab(
      'Merge Request Hook',
      hook(withMr(mergeRequestHook('approved', { iid: mr!.iid, username: 'intruder' }), branch)),
    );
    expect(intruder.statusCode).toBe(202);
    expect(JSON.parse(intruder.body)).toMatchObject({ outcome: 'ignored' });
    expect((await approvalOf(workflowId, 'merge')).status).toBe('pending');

    // The maintainer's approval of the outdated first-round request counts for nothing.
    await asUser(MAINTAINER_TOKEN).approve(String(outdated!.iid));
    const stale = await toGitlab(
      'Merge Request Hook',
      hook(withMr(mergeRequestHook('approved', { iid: outdated!.iid, username: 'maintainer' }), first.branch)),
    );
    expect(stale.statusCode).toBe(202);
    expect((await approvalOf(workflowId, 'merge')).status).toBe('pending');

    // The maintainer's approval in the forge decides it, under their name; the merge goes through GitLab's API.
    await asUser(MAINTAINER_TOKEN).approve(String(mr!.iid));
    const approved = await toGitlab(
      'Merge Request Hook',
      hook(withMr(mergeRequestHook('approved', { iid: mr!.iid, username: 'maintainer' }), branch)),
    );
    expect(approved.statusCode, approved.body).toBe(200);
    expect(await approvalOf(workflowId, 'merge')).toMatchObject({
      status: 'approved',
      decided_by: 'gitlab:maintainer',
    });
    const [merged] = await runMergeTasks(queue, deps, context);
    expect(merged).toMatchObject({ outcome: 'merged' });
    const main = await expectMergeCommit(state.bare, head);
    expect(merged!.sha).toBe(main);
    expect(mr).toMatchObject({ state: 'merged' });
    expect(await workflowOf(workflowId)).toMatchObject({ stage: 'deploy', status: 'running' });
  });

  it('turns a labelled GitHub issue into a merged pull request on the stand-in, approved by a review', async () => {
    const fullName = `octo/app-${dialect}`;
    const state = await github.createRepo(fullName);
    const repo = await addForgeRepository(
      t.handle.db,
      { forge: 'github', baseUrl: github.url, project: fullName, actor: 'test', now: Date.now() },
      context,
    );
    const repository = {
      ...githubExample('issues', 9).repository,
      full_name: fullName,
      name: fullName.split('/')[1],
      html_url: `${github.url}/${fullName}`,
      clone_url: github.remoteUrl(fullName),
      ssh_url: `git@127.0.0.1:${fullName}.git`,
    };

    const issue = githubExample('issues', 9);
    issue.repository = repository;
    issue.issue.labels = [...issue.issue.labels, { ...issue.label, name: 'autodev' }];
    const labelled = await toGithub('issues', issue);
    expect(labelled.statusCode, labelled.body).toBe(200);
    const workflowId = (JSON.parse(labelled.body) as { workflow_id: number }).workflow_id;
    await complete('create_user_story', STORY);
    await complete('write_spec', SPEC);

    // The spec approved by a comment addressed to the swarm, from an approver.
    const comment = githubExample('issue_comment', 0);
    comment.repository = repository;
    comment.issue.number = issue.issue.number;
    delete comment.issue.pull_request;
    comment.comment.body = '@autodev approve spec';
    comment.comment.user.login = 'octocat';
    expect((await toGithub('issue_comment', comment)).statusCode).toBe(200);
    expect(await approvalOf(workflowId, 'spec')).toMatchObject({ status: 'approved', decided_by: 'github:octocat' });

    const { branch, head } = await build(repo);
    await gates(() => github.addChecks(fullName, head, [{ name: 'test', status: 'completed', conclusion: 'success' }]));
    const [pull] = github.repo(fullName).pulls;
    expect(pull).toMatchObject({ head: branch, base: 'main', user: 'swarm-bot', state: 'open' });
    expect(pull!.comments.filter((c) => /^\*\*(Review|Tests|Security) .*: passed\*\*/.test(c.body))).toHaveLength(3);
    expect(pull!.reviewComments.map((c) => [c.path, c.line, c.commitId])).toEqual([['sum.mjs', 2, head]]);
    expect(
      await t.handle.db
        .selectFrom('merge_requests')
        .select(['external_id', 'url'])
        .where('workflow_id', '=', workflowId)
        .executeTakeFirstOrThrow(),
    ).toEqual({ external_id: String(pull!.number), url: `${github.url}/${fullName}/pull/${pull!.number}` });

    const review = (login: string) => {
      const payload = githubExample('pull_request_review', 0);
      payload.repository = repository;
      payload.pull_request.number = pull!.number;
      payload.review.state = 'approved';
      payload.review.user.login = login;
      return payload;
    };
    const asUser = (token: string) =>
      new GitHubClient(forgeRepository(repo) satisfies ForgeRepository, { dataDir, env: { GITHUB_TOKEN: token } });
    await asUser(INTRUDER_TOKEN).approve(String(pull!.number));
    const intruder = await toGithub('pull_request_review', review('mallory'));
    expect(intruder.statusCode).toBe(202);
    expect((await approvalOf(workflowId, 'merge')).status).toBe('pending');
    const ignored = await t.handle.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('event', '=', 'pull_request_review')
      .executeTakeFirstOrThrow();
    expect(ignored).toMatchObject({ outcome: 'ignored', detail: 'mallory is not in webhooks.approvers' });

    await asUser(MAINTAINER_TOKEN).approve(String(pull!.number));
    expect((await toGithub('pull_request_review', review('octocat'))).statusCode).toBe(200);
    expect(await approvalOf(workflowId, 'merge')).toMatchObject({ status: 'approved', decided_by: 'github:octocat' });
    const [merged] = await runMergeTasks(queue, deps, context);
    expect(merged).toMatchObject({ outcome: 'merged' });
    expect(merged!.sha).toBe(await expectMergeCommit(state.bare, head));
    expect(github.repo(fullName).pulls[0]).toMatchObject({ merged: true });
    expect(await workflowOf(workflowId)).toMatchObject({ stage: 'deploy', status: 'running' });
    // The clone saw nothing it did not push: the branch's head there is the one merged.
    expect((await git(repo.location, ['rev-parse', branch])).stdout.trim()).toBe(head);
  });
});

/** GitLab's merge request hook for the swarm's request on `branch`. */
function withMr<T extends { object_attributes: Record<string, unknown> }>(payload: T, branch: string): T {
  return {
    ...payload,
    object_attributes: { ...payload.object_attributes, source_branch: branch, target_branch: 'main' },
  };
}
