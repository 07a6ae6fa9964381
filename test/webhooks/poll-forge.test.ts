/**
 * @module The polling fallback (`webhooks/poll-forge.ts`, run by `forge-poller.ts`) on both engines, against the forge
 * stand-ins (documented REST payloads; test/support/gitlab-stand-in.ts, github-stand-in.ts): a labelled issue becomes
 * one story however often it is polled, and the webhook of the same fact afterwards (GitLab's documented Issue and
 * Pipeline Hooks, through the real route) adds nothing; a failed pipeline of a swarm merge request's head starts one
 * fix; an approval given in GitLab or GitHub by an allowed user decides a pending merge approval; the cursor moves on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { forgeClientFor } from '../../src/forge/forge-clients.js';
import type { RepositoryRow } from '../../src/forge/repositories.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { ForgePoller } from '../../src/webhooks/forge-poller.js';
import { git } from '../../src/workspace/git.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { decideApproval } from '../../src/workflow/approvals.js';
import type { GateVerdict } from '../../src/workflow/workflow-steps.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { cloneForTest, commitOnBranch } from '../support/forge-clone.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { GITLAB_PROJECT, issueHook, pipelineHook } from './gitlab-payloads.js';

const TOKEN = 'poll-token';
const HUMAN_TOKEN = 'human-token';
const GITLAB_SECRET = 'gitlab-hook-secret-0123456789';
const SETTINGS = SettingsSchema.parse({ webhooks: { approvers: ['maintainer'] } });
const logger = createLogger({ level: 'silent', pretty: false });

let github: GitHubStandIn;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poll-forge-'));
  github = await new GitHubStandIn().start();
  github.addUser(TOKEN, 'swarm-bot');
  github.addUser(HUMAN_TOKEN, 'octocat');
});
afterAll(async () => {
  await github?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(DIALECTS)('%s: polling the forge', (dialect) => {
  const t = useTestDatabase(dialect);
  let queue: TaskQueue;
  let app: FastifyInstance;

  beforeAll(async () => {
    queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    app = await buildServer({
      handle: t.handle,
      queue,
      logger,
      version: '0.0.0-test',
      settings: SETTINGS,
      env: { AUTODEV_GITLAB_WEBHOOK_SECRET: GITLAB_SECRET },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await queue.close();
  });

  const poller = () =>
    new ForgePoller({ queue, settings: SETTINGS, dataDir: dir, env: { FORGE_TOKEN: TOKEN }, logger });

  /** A repository registered as GitLab's documented webhook payloads name it, polled from the stand-in. */
  async function register(forge: 'gitlab' | 'github', project: string, location: string, baseUrl: string) {
    return (await t.handle.db
      .insertInto('repositories')
      .values({
        name: `${forge}-${++n}`,
        forge,
        location,
        remote_url: null,
        default_branch: 'main',
        test_command: null,
        deploy_command: null,
        lint_command: null,
        settings: JSON.stringify({
          forge_base_url: baseUrl,
          forge_project: project,
          forge_token_env: 'FORGE_TOKEN',
          forge_events: 'poll',
        }),
        created_at: 1,
        updated_at: 1,
      })
      .returningAll()
      .executeTakeFirstOrThrow()) as RepositoryRow;
  }

  /** The documented GitLab project (gitlabhq/gitlab-test) on a fresh stand-in, so hooks and polls name one project. */
  async function gitlabProject() {
    const standIn = await new GitLabStandIn().start();
    standIn.addUser(TOKEN, 'swarm-bot');
    standIn.addUser(HUMAN_TOKEN, 'maintainer');
    const state = await standIn.createProject(GITLAB_PROJECT.path_with_namespace);
    const row = await register('gitlab', GITLAB_PROJECT.path_with_namespace, GITLAB_PROJECT.web_url, standIn.url);
    const human = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: HUMAN_TOKEN } });
    return { standIn, state, row, human };
  }

  const count = async (table: 'workflows' | 'tasks' | 'webhook_deliveries') =>
    Number(
      (
        await t.handle.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  function gitlabHook(event: string, body: unknown) {
    return app.inject({
      method: 'POST',
      url: '/webhooks/gitlab',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': event,
        'x-gitlab-token': GITLAB_SECRET,
        'x-gitlab-event-uuid': `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
      },
      payload: JSON.stringify(body),
    });
  }

  it('polls a labelled GitLab issue (stand-in) into one story; a second poll and the webhook afterwards add nothing', async () => {
    const { standIn, row, human } = await gitlabProject();
    try {
      await human.createIssue({ title: 'Not for the swarm', body: 'x', labels: ['ux'] });
      const labelled = await human.createIssue({ title: 'Sum two numbers', body: 'As a user...', labels: ['autodev'] });

      const [first] = await poller().pollOnce();
      expect(first?.deliveries.map((d) => d.result.outcome)).toEqual(['acted']);
      const workflow = await t.handle.db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
      expect(workflow).toMatchObject({ title: 'Sum two numbers', repo_id: row.id, created_by: 'gitlab:maintainer' });
      const before = { workflows: await count('workflows'), tasks: await count('tasks') };

      const [second] = await poller().pollOnce();
      expect(second?.deliveries.map((d) => d.result.outcome)).toEqual(['replay']);

      const hook = await gitlabHook(
        'Issue Hook',
        issueHook({ labels: ['autodev'], username: 'maintainer', iid: Number(labelled.externalId) }),
      );
      expect(hook.statusCode).toBe(200);
      expect(hook.json()).toMatchObject({ outcome: 'duplicate', workflow_id: workflow.id });
      expect({ workflows: await count('workflows'), tasks: await count('tasks') }).toEqual(before);

      // A later issue: the cursor moved on, so only it is new.
      const cursor = first!.cursor;
      await human.createIssue({ title: 'Subtract', body: 'As a user...', labels: ['autodev'] });
      const [third] = await poller().pollOnce();
      // The first issue was updated at the cursor itself: read again, a replay.
      expect(third?.deliveries.map((d) => d.result.outcome)).toEqual(['replay', 'acted']);
      expect(Date.parse(third!.cursor!)).toBeGreaterThan(Date.parse(cursor!));
      expect(await count('workflows')).toBe(2);
    } finally {
      await standIn.close();
    }
  });

  it('two pollers at once enqueue the story once (the database decides)', async () => {
    const { standIn, human } = await gitlabProject();
    try {
      await human.createIssue({ title: 'Sum two numbers', body: 'As a user...', labels: ['autodev'] });
      const outcomes = await Promise.all([poller().pollOnce(), poller().pollOnce()]);
      const results = outcomes.flat().flatMap((o) => o.deliveries.map((d) => d.result.outcome));
      expect(results.filter((r) => r === 'acted')).toHaveLength(1);
      expect(await count('workflows')).toBe(1);
    } finally {
      await standIn.close();
    }
  });

  it('a failed pipeline of a swarm merge request head starts one fix; the Pipeline Hook afterwards adds nothing', async () => {
    const { standIn, state, row } = await gitlabProject();
    try {
      // The swarm's branch, pushed to the stand-in's repository, and its merge request there.
      const work = fs.mkdtempSync(path.join(dir, 'work-'));
      await git(dir, ['clone', '--quiet', state.bare, work]);
      await git(work, ['checkout', '--quiet', '-b', 'autodev/12-sum']);
      fs.writeFileSync(path.join(work, 'sum.js'), 'module.exports = (a, b) => a - b;\n');
      await git(work, ['add', '-A']);
      await git(work, ['commit', '--quiet', '-m', 'Sum'], { asAutodev: true });
      await git(work, ['push', '--quiet', 'origin', 'autodev/12-sum']);
      const head = (await git(work, ['rev-parse', 'HEAD'])).stdout.trim();
      const bot = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } });
      const mr = await bot.openMergeRequest({ sourceBranch: 'autodev/12-sum', title: 'Sum', description: '' });
      await t.handle.db
        .insertInto('merge_requests')
        .values({
          repo_id: row.id,
          workflow_id: null,
          source_branch: 'autodev/12-sum',
          target_branch: 'main',
          title: 'Sum two numbers',
          description: '',
          status: 'open',
          head_sha: head,
          target_sha: null,
          merge_sha: null,
          external_id: mr.externalId,
          created_at: 1,
          updated_at: 1,
        })
        .execute();
      const pipeline = standIn.addPipeline(GITLAB_PROJECT.path_with_namespace, head, 'failed', [
        { name: 'test-image', status: 'failed', trace: 'not ok 1 - sum adds\n' },
      ]);

      const [polled] = await poller().pollOnce();
      expect(polled?.deliveries.map((d) => [d.deliveryId, d.result.outcome])).toEqual([
        [`poll:pipeline:${pipeline.id}`, 'acted'],
      ]);
      const fix = await t.handle.db.selectFrom('tasks').selectAll().executeTakeFirstOrThrow();
      expect(fix).toMatchObject({
        type: 'implement_fix',
        dedupe_key: `gitlab:gitlabhq/gitlab-test:pipeline:${pipeline.id}:fix`,
      });
      expect(fix.payload).toContain('not ok 1 - sum adds');

      const hook = await gitlabHook(
        'Pipeline Hook',
        pipelineHook({ status: 'failed', ref: 'autodev/12-sum', id: pipeline.id }),
      );
      expect(hook.json()).toMatchObject({ outcome: 'duplicate', task_id: fix.id });
      expect(await count('tasks')).toBe(1);
    } finally {
      await standIn.close();
    }
  });

  async function complete(type: string, result: Record<string, unknown>, deterministic?: GateVerdict) {
    const task = await queue.claim('w1', [type]);
    if (!task) throw new Error(`no pending ${type}`);
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
      await onWorkflowTaskCompleted(tx, workflowDeps(queue, 3), task, result, 'w1', deterministic);
    });
  }

  it.each(['gitlab', 'github'] as const)(
    "decides a story's pending merge approval from an approval polled from %s (stand-in), once",
    async (forge) => {
      const standIn = forge === 'gitlab' ? await new GitLabStandIn().start() : await new GitHubStandIn().start();
      try {
        standIn.addUser(TOKEN, 'swarm-bot');
        standIn.addUser(HUMAN_TOKEN, 'maintainer');
        standIn.addUser('stranger-token', 'mallory');
        if (standIn instanceof GitLabStandIn) await standIn.createProject('acme/app');
        else await standIn.createRepo('acme/app');
        const clone = await cloneForTest(
          standIn.remoteUrl('acme/app'),
          TOKEN,
          path.join(dir, `approve-${forge}-${dialect}`),
        );
        const registered = await register(forge, 'acme/app', clone, standIn.url);
        const row = (await t.handle.db
          .updateTable('repositories')
          .set({ remote_url: standIn.remoteUrl('acme/app') })
          .where('id', '=', registered.id)
          .returningAll()
          .executeTakeFirstOrThrow()) as RepositoryRow;

        // A story driven by hand to its merge approval (the gates pass).
        const deps = workflowDeps(queue, 3);
        const wf = await startStoryWorkflow(t.handle.db, deps, {
          title: 'Sum',
          body: 'b',
          repoId: row.id,
          createdBy: 'test',
        });
        await complete('create_user_story', {
          status: 'done',
          summary: 's',
          stories: [{ title: 'Sum', body: 'B', acceptance_criteria: ['w'] }],
        });
        await complete('write_spec', {
          status: 'done',
          summary: 's',
          spec_markdown: '# S',
          files_to_touch: ['sum.js'],
          test_plan: 't',
          risks: [],
        });
        const spec = await t.handle.db
          .selectFrom('approvals')
          .selectAll()
          .where('status', '=', 'pending')
          .executeTakeFirstOrThrow();
        await decideApproval(t.handle.db, deps, { id: spec.id, decision: 'approved', actor: 'test' });
        const head = await commitOnBranch(
          clone,
          'autodev/1-sum',
          { 'sum.js': 'export const sum = (a, b) => a + b;\n' },
          'Sum',
        );
        await git(clone, ['checkout', '--quiet', 'main']);
        await complete('implement_feature', {
          status: 'done',
          summary: 's',
          branch: 'autodev/1-sum',
          commits: [{ sha: head, message: 'Sum' }],
          files_changed: ['sum.js'],
        });
        const passing = { passed: true, findings: [] };
        await complete('review_mr', { status: 'done', summary: 'fine', verdict: 'approve', findings: [] });
        await complete(
          'run_tests',
          { status: 'done', summary: 'pass', command: 'npm test', passed: 3, failed: 0, skipped: 0, failures: [] },
          passing,
        );
        await complete('security_scan', { status: 'done', summary: 'clean', verdict: 'pass', findings: [] });
        const merge = await t.handle.db
          .selectFrom('approvals')
          .selectAll()
          .where('status', '=', 'pending')
          .executeTakeFirstOrThrow();
        expect(merge).toMatchObject({ kind: 'merge', workflow_id: wf.id });

        // The swarm's merge request in the forge (opened there at gate time), approved there by a stranger and a maintainer.
        const bot = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } });
        await bot.pushBranch('autodev/1-sum');
        const mr = await bot.openMergeRequest({ sourceBranch: 'autodev/1-sum', title: 'Sum', description: '' });
        await t.handle.db
          .updateTable('merge_requests')
          .set({ external_id: mr.externalId })
          .where('workflow_id', '=', wf.id)
          .execute();
        await forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: 'stranger-token' } }).approve(mr.externalId);
        await forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: HUMAN_TOKEN } }).approve(mr.externalId);

        const [polled] = await poller().pollOnce();
        expect(polled?.deliveries.map((d) => [d.deliveryId, d.result.outcome])).toEqual([
          [`poll:mr:${mr.externalId}:approval:${merge.id}:mallory`, 'ignored'],
          [`poll:mr:${mr.externalId}:approval:${merge.id}:maintainer`, 'acted'],
        ]);
        const decided = await t.handle.db
          .selectFrom('approvals')
          .selectAll()
          .where('id', '=', merge.id)
          .executeTakeFirstOrThrow();
        expect(decided).toMatchObject({ status: 'approved', decided_by: `${forge}:maintainer` });
        const tasks = await count('tasks');
        const [again] = await poller().pollOnce();
        expect(again?.deliveries.filter((d) => d.result.outcome === 'acted')).toEqual([]);
        expect(await count('tasks')).toBe(tasks);
      } finally {
        await standIn.close();
      }
    },
  );

  it('polls a labelled GitHub issue (stand-in) into one story; a repository that does not ask for polling is left alone', async () => {
    const project = `octo-${++n}/hello`;
    const state = await github.createRepo(project);
    const row = await register('github', project, github.remoteUrl(project), github.url);
    const quiet = await register('github', project, `${github.remoteUrl(project)}-quiet`, github.url);
    await t.handle.db
      .updateTable('repositories')
      .set({
        settings: JSON.stringify({
          forge_base_url: github.url,
          forge_project: project,
          forge_token_env: 'FORGE_TOKEN',
        }),
      })
      .where('id', '=', quiet.id)
      .execute();
    const human = forgeClientFor(row, { dataDir: dir, env: { FORGE_TOKEN: HUMAN_TOKEN } });
    await human.createIssue({ title: 'Hello', body: 'As a user...', labels: ['autodev'] });
    expect(state.issues).toHaveLength(1);

    const outcomes = await poller().pollOnce();
    expect(outcomes.map((o) => o.repository)).toEqual([row.name]);
    expect(outcomes[0]!.deliveries.map((d) => d.result.outcome)).toEqual(['acted']);
    await poller().pollOnce();
    expect(await count('workflows')).toBe(1);
    const workflow = await t.handle.db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
    expect(workflow).toMatchObject({ title: 'Hello', repo_id: row.id, created_by: 'github:octocat' });
  });
});
