/**
 * @module The webhook routes on both engines, fed documented payloads: GitLab's (test/webhooks/gitlab-payloads.ts,
 * from GitLab's webhook docs) and GitHub's (@octokit/webhooks-examples). Signed and unsigned, replayed, oversized,
 * malformed, out of order; each ends as documented and nothing is duplicated. The failed job's log comes from a
 * stand-in fetcher (no forge API is reachable here), named so in the test.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { onWorkflowTaskCompleted } from '../../src/workflow/advance-workflow.js';
import { githubSignature } from '../../src/webhooks/verify-delivery.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import {
  GITLAB_PROJECT,
  issueHook,
  issueNoteHook,
  mergeRequestHook,
  mergeRequestNoteHook,
  pipelineHook,
} from './gitlab-payloads.js';

const require = createRequire(import.meta.url);
const GITHUB_EXAMPLES = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documented payloads, edited field by field below
type Payload = Record<string, any>;
function githubExample(name: string, index: number): Payload {
  const example = GITHUB_EXAMPLES.find((e) => e.name === name)!.examples[index]!;
  return structuredClone(example) as Payload;
}

const GITLAB_SECRET = 'gitlab-hook-secret-0123456789';
const GITHUB_SECRET = 'github-hook-secret-0123456789';
const MAX_BODY = 64 * 1024;

describe.each(DIALECTS)('%s: webhooks', (dialect) => {
  const t = useTestDatabase(dialect);
  let app: FastifyInstance;
  let queue: TaskQueue;
  const fetchedLogs: { jobId: number; pipelineId: number }[] = [];
  let githubRepoUrl: string;

  beforeAll(async () => {
    queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: '0.0.0-test',
      settings: SettingsSchema.parse({
        webhooks: { approvers: ['maintainer', 'Codertocat'], max_body_bytes: MAX_BODY },
      }),
      env: { AUTODEV_GITLAB_WEBHOOK_SECRET: GITLAB_SECRET, AUTODEV_GITHUB_WEBHOOK_SECRET: GITHUB_SECRET },
      webhooks: {
        // Stand-in for the forge client's "fetch a failed job's log" (no GitLab/GitHub API here).
        fetchFailedJobLog: async ({ jobId, pipelineId }) => {
          fetchedLogs.push({ jobId, pipelineId });
          if (pipelineId === 33) throw new Error('stand-in: the forge API refused (HTTP 403)');
          return `stand-in log of job ${jobId}\nnot ok 1 - sum adds\n`;
        },
      },
    });
    await app.ready();
    githubRepoUrl = (githubExample('issues', 9).repository as { html_url: string }).html_url;
  });
  afterAll(async () => {
    await app.close();
    await queue.close();
  });

  let gitlabRepoId: number;
  let githubRepoId: number;
  beforeEach(async () => {
    fetchedLogs.length = 0;
    const insert = async (name: string, forge: 'gitlab' | 'github', location: string) =>
      (
        await t.handle.db
          .insertInto('repositories')
          .values({
            name,
            forge,
            location,
            default_branch: 'master',
            test_command: null,
            deploy_command: null,
            lint_command: null,
            settings: '{}',
            created_at: 1,
            updated_at: 1,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    gitlabRepoId = await insert('gitlab-test', 'gitlab', `${GITLAB_PROJECT.web_url}/`);
    githubRepoId = await insert('hello-world', 'github', `${githubRepoUrl}.git`);
  });

  let uuid = 0;
  const nextUuid = () => `00000000-0000-4000-8000-${String(++uuid).padStart(12, '0')}`;

  function gitlab(event: string, body: unknown, headers: Record<string, string> = {}) {
    return app.inject({
      method: 'POST',
      url: '/webhooks/gitlab',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': event,
        'x-gitlab-token': GITLAB_SECRET,
        'x-gitlab-event-uuid': nextUuid(),
        ...headers,
      },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  function github(event: string, body: unknown, headers: Record<string, string> = {}) {
    const raw = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return app.inject({
      method: 'POST',
      url: '/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': nextUuid(),
        'x-hub-signature-256': githubSignature(raw, GITHUB_SECRET),
        ...headers,
      },
      payload: raw,
    });
  }

  /** Completes the story's user story and spec tasks as their agents would, up to the pending spec approval. */
  const completeStoryAndSpec = async () => {
    const deps = { queue, maxFixRounds: 3 };
    for (const [type, result] of [
      [
        'create_user_story',
        { status: 'done', summary: 's', stories: [{ title: 'T', body: 'B', acceptance_criteria: ['w'] }] },
      ],
      [
        'write_spec',
        { status: 'done', summary: 's', spec_markdown: '# S', files_to_touch: ['a.ts'], test_plan: 't', risks: [] },
      ],
    ] as const) {
      const task = await queue.claim('w1', [type]);
      await t.handle.db.transaction().execute(async (tx) => {
        await queue.complete({ taskId: task!.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task!, result, 'w1');
      });
    }
  };

  const count = async (table: 'workflows' | 'tasks' | 'webhook_deliveries' | 'events' | 'approvals') =>
    Number(
      (
        await t.handle.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const counts = async () => ({
    workflows: await count('workflows'),
    tasks: await count('tasks'),
    deliveries: await count('webhook_deliveries'),
    events: await count('events'),
  });

  async function swarmMergeRequest(
    externalId: string,
    branch = 'autodev/12-sum',
    workflowId: number | null = null,
    repoId = gitlabRepoId,
  ) {
    return (
      await t.handle.db
        .insertInto('merge_requests')
        .values({
          repo_id: repoId,
          workflow_id: workflowId,
          source_branch: branch,
          target_branch: 'master',
          title: 'Sum two numbers',
          description: '',
          status: 'open',
          head_sha: null,
          target_sha: null,
          merge_sha: null,
          external_id: externalId,
          created_at: 1,
          updated_at: 1,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  }

  describe('GitLab', () => {
    it('an issue labelled for the swarm starts one story; a replay and a second delivery of the fact add nothing', async () => {
      const first = await gitlab('Issue Hook', issueHook({ labels: ['bug', 'autodev'] }), {
        'idempotency-key': 'key-1',
      });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toMatchObject({ delivery_id: 'key-1', outcome: 'acted', workflow_id: expect.any(Number) });
      const story = await t.handle.db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
      expect(story).toMatchObject({
        title: 'New API: create/update/delete file',
        repo_id: gitlabRepoId,
        created_by: 'gitlab:root',
      });
      expect(story.body).toContain('http://example.com/diaspora/issues/23');
      const after = await counts();

      // A redelivery: same Idempotency-Key (GitLab's retry), even with a new event UUID.
      const replay = await gitlab('Issue Hook', issueHook({ labels: ['bug', 'autodev'] }), {
        'idempotency-key': 'key-1',
      });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toMatchObject({ outcome: 'replay', workflow_id: story.id });
      expect(await counts()).toEqual(after);

      // The same fact delivered again (the issue edited, still labelled): recorded, nothing started.
      const again = await gitlab('Issue Hook', issueHook({ labels: ['autodev'], action: 'update' }));
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ outcome: 'duplicate', workflow_id: story.id });
      expect(await count('workflows')).toBe(1);
      expect(await count('tasks')).toBe(after.tasks);
    });

    it('many deliveries of one labelled issue at once start one story', async () => {
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => gitlab('Issue Hook', issueHook({ labels: ['autodev'], iid: 40 }))),
      );
      expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(responses.filter((r) => r.json().outcome === 'acted')).toHaveLength(1);
      expect(await count('workflows')).toBe(1);
      expect(await count('webhook_deliveries')).toBe(6);
    });

    it('ignores (202) an issue without the label, an unknown event and an unregistered project', async () => {
      const unlabelled = await gitlab('Issue Hook', issueHook({ labels: ['bug'] }));
      expect(unlabelled.statusCode).toBe(202);
      expect(unlabelled.json().detail).toMatch(/not labelled autodev/);
      const unknown = await gitlab('Wiki Page Hook', { object_kind: 'wiki_page' });
      expect(unknown.statusCode).toBe(202);
      expect(unknown.json().detail).toMatch(/Wiki Page Hook/);
      const elsewhere = issueHook({ labels: ['autodev'] });
      elsewhere.project = {
        ...GITLAB_PROJECT,
        path_with_namespace: 'other/repo',
        web_url: 'http://example.com/other/repo',
        git_http_url: 'x',
        git_ssh_url: 'y',
      };
      const unregistered = await gitlab('Issue Hook', elsewhere);
      expect(unregistered.statusCode).toBe(202);
      expect(unregistered.json().detail).toMatch(/other\/repo is not a registered gitlab repository/);
      expect(await count('workflows')).toBe(0);
      expect(await count('tasks')).toBe(0);
    });

    it('refuses a wrong or missing token (401), oversized (413) and malformed (400) deliveries, writing nothing', async () => {
      const before = await counts();
      const wrong = await gitlab('Issue Hook', issueHook({ labels: ['autodev'] }), { 'x-gitlab-token': 'guess' });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      const unsigned = await app.inject({
        method: 'POST',
        url: '/webhooks/gitlab',
        headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Issue Hook', 'x-gitlab-event-uuid': 'u1' },
        payload: JSON.stringify(issueHook({ labels: ['autodev'] })),
      });
      expect(unsigned.statusCode).toBe(401);
      const big = issueHook({ labels: ['autodev'] });
      big.object_attributes.description = 'x'.repeat(MAX_BODY);
      const oversized = await gitlab('Issue Hook', big);
      expect(oversized.statusCode).toBe(413);
      expect(oversized.json().error.message).toContain(String(MAX_BODY));
      const notJson = await gitlab('Issue Hook', '{"object_kind": "issue",');
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json().error.code).toBe('WEBHOOK_MALFORMED');
      const noId = await gitlab('Issue Hook', issueHook({ labels: ['autodev'] }), { 'x-gitlab-event-uuid': '' });
      expect(noId.statusCode).toBe(400);
      const missingField = await gitlab('Issue Hook', { object_kind: 'issue', project: GITLAB_PROJECT });
      expect(missingField.statusCode).toBe(400);
      expect(missingField.json().error.message).toMatch(/Issue Hook payload lacks/);
      const nul = issueHook({ labels: ['autodev'] });
      nul.object_attributes.title = 'a\u0000b';
      const unstorable = await gitlab('Issue Hook', nul);
      expect(unstorable.statusCode).toBe(400);
      expect(await counts()).toEqual(before);
    });

    it('a comment addressed to the swarm on its merge request starts a fix or a review, once', async () => {
      const mergeRequestId = await swarmMergeRequest('1');
      const fix = await gitlab('Note Hook', mergeRequestNoteHook('@autodev fix the off-by-one in sum()', { id: 1 }));
      expect(fix.statusCode, fix.body).toBe(200);
      const review = await gitlab('Note Hook', mergeRequestNoteHook('@autodev review', { id: 2 }));
      expect(review.statusCode).toBe(200);
      const tasks = await t.handle.db.selectFrom('tasks').selectAll().orderBy('id').execute();
      expect(tasks.map((task) => [task.type, task.repo_id, task.created_by, task.dedupe_key])).toEqual([
        ['implement_fix', gitlabRepoId, 'gitlab:root', 'gitlab:gitlabhq/gitlab-test:comment:1'],
        ['review_mr', gitlabRepoId, 'gitlab:root', 'gitlab:gitlabhq/gitlab-test:comment:2'],
      ]);
      expect(JSON.parse(tasks[0]!.payload)).toMatchObject({
        branch: 'autodev/12-sum',
        merge_request_id: mergeRequestId,
        findings: [{ source: 'forge comment', author: 'root', body: 'fix the off-by-one in sum()' }],
      });
      const other = await gitlab('Note Hook', mergeRequestNoteHook('looks good to me', { id: 3 }));
      expect(other.statusCode).toBe(202);
      const notSwarm = await gitlab('Note Hook', mergeRequestNoteHook('@autodev fix it', { id: 4, iid: 99 }));
      expect(notSwarm.statusCode).toBe(202);
      expect(await count('tasks')).toBe(2);
    });

    it("a failed pipeline on a swarm branch starts implement_fix with the failing job's log; out of order changes nothing", async () => {
      const running = await gitlab('Pipeline Hook', pipelineHook({ status: 'running', ref: 'autodev/12-sum' }));
      expect(running.statusCode).toBe(202);
      const failed = await gitlab('Pipeline Hook', pipelineHook({ status: 'failed', ref: 'autodev/12-sum' }));
      expect(failed.statusCode, failed.body).toBe(200);
      // A late "running" of the same pipeline, and the failure delivered twice under new ids.
      await gitlab('Pipeline Hook', pipelineHook({ status: 'running', ref: 'autodev/12-sum' }));
      const twice = await gitlab('Pipeline Hook', pipelineHook({ status: 'failed', ref: 'autodev/12-sum' }));
      expect(twice.json().outcome).toBe('duplicate');
      const tasks = await t.handle.db.selectFrom('tasks').selectAll().execute();
      expect(tasks).toHaveLength(1);
      expect(tasks[0]!.type).toBe('implement_fix');
      expect(JSON.parse(tasks[0]!.payload)).toMatchObject({
        branch: 'autodev/12-sum',
        findings: [
          {
            source: 'pipeline',
            pipeline_id: 31,
            failed_jobs: [{ id: 377, name: 'test-image' }],
            log: 'stand-in log of job 377\nnot ok 1 - sum adds\n',
          },
        ],
      });
      const human = await gitlab('Pipeline Hook', pipelineHook({ status: 'failed', ref: 'feature/login', id: 32 }));
      expect(human.statusCode).toBe(202);
      expect(human.json().detail).toMatch(/not a swarm branch/);
      expect(await count('tasks')).toBe(1);
      // The log cannot be fetched: the fix still starts, and says the log is missing.
      const noLog = await gitlab('Pipeline Hook', pipelineHook({ status: 'failed', ref: 'autodev/12-sum', id: 33 }));
      expect(noLog.statusCode).toBe(200);
      const fix = await t.handle.db
        .selectFrom('tasks')
        .selectAll()
        .where('id', '=', noLog.json().task_id)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(fix.payload)).toMatchObject({
        findings: [{ pipeline_id: 33, log: null, log_unavailable: 'the failing job log could not be fetched' }],
      });
      const events = await t.handle.db
        .selectFrom('events')
        .select(['kind', 'data'])
        .where('kind', '=', 'webhook.received')
        .orderBy('id')
        .execute();
      expect(events.map((e) => (JSON.parse(e.data) as { outcome: string }).outcome)).toEqual([
        'ignored',
        'acted',
        'ignored',
        'duplicate',
        'ignored',
        'acted',
      ]);
    });

    it('a spec approval by label or comment from an allowed user decides it under their name; others are ignored', async () => {
      const started = await gitlab('Issue Hook', issueHook({ labels: ['autodev'], iid: 7 }));
      const workflowId = started.json().workflow_id as number;
      await completeStoryAndSpec();
      const pending = await t.handle.db.selectFrom('approvals').selectAll().where('status', '=', 'pending').execute();
      expect(pending).toEqual([expect.objectContaining({ kind: 'spec', workflow_id: workflowId })]);

      const stranger = await gitlab(
        'Note Hook',
        issueNoteHook('@autodev approve spec', { iid: 7, username: 'mallory' }),
      );
      expect(stranger.statusCode).toBe(202);
      expect(stranger.json().detail).toMatch(/mallory is not in webhooks.approvers/);
      // The stranger adds the spec label: ignored. An approver then edits the issue (its labels unchanged): the label
      // already there is not theirs, nothing is decided.
      const strangerLabel = await gitlab(
        'Issue Hook',
        issueHook({
          labels: ['autodev', 'autodev-spec-approved'],
          previousLabels: ['autodev'],
          iid: 7,
          action: 'update',
          username: 'mallory',
        }),
      );
      expect(strangerLabel.statusCode).toBe(202);
      const edited = issueHook({
        labels: ['autodev', 'autodev-spec-approved'],
        iid: 7,
        action: 'update',
        username: 'maintainer',
      });
      (edited as { changes: unknown }).changes = { title: { previous: 'old title', current: 'New API' } };
      const edit = await gitlab('Issue Hook', edited);
      expect(edit.statusCode).toBe(200);
      expect(edit.json().outcome).toBe('duplicate');
      expect(await t.handle.db.selectFrom('approvals').select('status').executeTakeFirstOrThrow()).toEqual({
        status: 'pending',
      });
      const labelled = await gitlab(
        'Issue Hook',
        issueHook({ labels: ['autodev', 'autodev-spec-approved'], iid: 7, action: 'update', username: 'maintainer' }),
      );
      expect(labelled.statusCode, labelled.body).toBe(200);
      const decided = await t.handle.db.selectFrom('approvals').selectAll().executeTakeFirstOrThrow();
      expect(decided).toMatchObject({ status: 'approved', decided_by: 'gitlab:maintainer' });
      // The comment after the label: nothing pending any more.
      const late = await gitlab(
        'Note Hook',
        issueNoteHook('@autodev approve spec', { iid: 7, username: 'maintainer' }),
      );
      expect(late.statusCode).toBe(202);
      expect(await count('workflows')).toBe(1);
    });

    it('a merge request approval counts only from an allowed user and only while a merge approval is pending', async () => {
      await swarmMergeRequest('1');
      const stranger = await gitlab('Merge Request Hook', mergeRequestHook('approved', { username: 'mallory' }));
      expect(stranger.statusCode).toBe(202);
      expect(stranger.json().detail).toMatch(/not in webhooks.approvers/);
      const early = await gitlab('Merge Request Hook', mergeRequestHook('approved', { username: 'maintainer' }));
      expect(early.statusCode).toBe(202);
      expect(early.json().detail).toMatch(/not a story's/);
      const update = await gitlab('Merge Request Hook', mergeRequestHook('update'));
      expect(update.statusCode).toBe(202);
    });
  });

  describe('GitHub (@octokit/webhooks-examples)', () => {
    it('a labelled issue starts a story; a replayed delivery id is 200 with nothing new', async () => {
      const payload = githubExample('issues', 9);
      payload.issue.labels = [...payload.issue.labels, { ...payload.label, name: 'autodev' }];
      const first = await github('issues', payload, { 'x-github-delivery': 'gh-1' });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toMatchObject({ outcome: 'acted' });
      const story = await t.handle.db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
      expect(story).toMatchObject({ title: payload.issue.title, repo_id: githubRepoId });
      const after = await counts();
      const replay = await github('issues', payload, { 'x-github-delivery': 'gh-1' });
      expect(replay.statusCode).toBe(200);
      expect(replay.json().outcome).toBe('replay');
      expect(await counts()).toEqual(after);
    });

    it('refuses an unsigned or wrongly signed delivery with 401, writing nothing', async () => {
      const payload = githubExample('issues', 9);
      const before = await counts();
      const unsigned = await github('issues', payload, { 'x-hub-signature-256': '' });
      expect(unsigned.statusCode).toBe(401);
      const wrong = await github('issues', payload, {
        'x-hub-signature-256': githubSignature(Buffer.from(JSON.stringify(payload)), 'not-the-secret'),
      });
      expect(wrong.statusCode).toBe(401);
      // Signed, then changed on the way: the signature no longer matches the body.
      const raw = Buffer.from(JSON.stringify(payload));
      const tampered = await app.inject({
        method: 'POST',
        url: '/webhooks/github',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issues',
          'x-github-delivery': 'gh-t',
          'x-hub-signature-256': githubSignature(raw, GITHUB_SECRET),
        },
        payload: JSON.stringify({ ...payload, action: 'opened' }),
      });
      expect(tampered.statusCode).toBe(401);
      expect(await counts()).toEqual(before);
    });

    it('refuses oversized (413) and malformed (400) deliveries, writing nothing', async () => {
      const before = await counts();
      const big = githubExample('issues', 9);
      big.issue.body = 'x'.repeat(MAX_BODY);
      const oversized = await github('issues', big);
      expect(oversized.statusCode).toBe(413);
      expect(oversized.json().error.message).toContain(String(MAX_BODY));
      const notJson = await github('issues', '{"action": "labeled",');
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json().error.code).toBe('WEBHOOK_MALFORMED');
      const noId = await github('issues', githubExample('issues', 9), { 'x-github-delivery': '' });
      expect(noId.statusCode).toBe(400);
      expect(noId.json().error.code).toBe('WEBHOOK_MALFORMED');
      const missingField = await github('issues', {
        action: 'labeled',
        repository: githubExample('issues', 9).repository,
      });
      expect(missingField.statusCode).toBe(400);
      expect(missingField.json().error.code).toBe('WEBHOOK_MALFORMED');
      expect(await counts()).toEqual(before);
    });

    it('out of order: a late in-progress check run, the failure again and an early approval start nothing more', async () => {
      const failed = githubExample('check_run', 1);
      failed.check_run.check_suite.head_branch = 'autodev/5-login';
      const first = await github('check_run', failed);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json().outcome).toBe('acted');
      // The same run's earlier "in progress", delivered after its failure.
      const late = githubExample('check_run', 1);
      late.check_run.check_suite.head_branch = 'autodev/5-login';
      late.action = 'created';
      late.check_run.status = 'in_progress';
      late.check_run.conclusion = null;
      const lateResponse = await github('check_run', late);
      expect(lateResponse.statusCode).toBe(202);
      // The failure again under a new delivery id (GitHub's redeliver, or a second hook).
      const again = await github('check_run', failed);
      expect(again.statusCode).toBe(200);
      expect(again.json().outcome).toBe('duplicate');
      expect((await t.handle.db.selectFrom('tasks').select('type').execute()).map((x) => x.type)).toEqual([
        'implement_fix',
      ]);

      // An approving review of the swarm's pull request before any merge approval is pending decides nothing.
      const review = githubExample('pull_request_review', 0);
      review.pull_request.number = 77;
      review.review.state = 'approved';
      review.review.user.login = 'Codertocat';
      await swarmMergeRequest('77', 'autodev/5-login', null, githubRepoId);
      const early = await github('pull_request_review', review);
      expect(early.statusCode).toBe(202);
      expect(early.json().detail).toMatch(/not a story's/);
      expect(await count('approvals')).toBe(0);
    });

    it('a failed check run on a swarm branch starts one fix; a successful one is ignored', async () => {
      const failed = githubExample('check_run', 1);
      failed.check_run.check_suite.head_branch = 'autodev/5-login';
      const response = await github('check_run', failed);
      expect(response.statusCode, response.body).toBe(200);
      expect(fetchedLogs).toEqual([{ jobId: failed.check_run.id, pipelineId: failed.check_run.check_suite.id }]);
      const ok = githubExample('check_run', 2);
      ok.check_run.check_suite.head_branch = 'autodev/5-login';
      expect((await github('check_run', ok)).statusCode).toBe(202);
      const tasks = await t.handle.db.selectFrom('tasks').selectAll().execute();
      expect(tasks.map((task) => [task.type, task.repo_id])).toEqual([['implement_fix', githubRepoId]]);
    });

    it("a spec approval by label counts only from an approver's own labeled event, under their name", async () => {
      const issue = githubExample('issues', 9);
      issue.issue.labels = [{ ...issue.label, name: 'autodev' }];
      const started = await github('issues', issue);
      expect(started.statusCode, started.body).toBe(200);
      await completeStoryAndSpec();
      const spec = structuredClone(issue);
      spec.issue.labels = [
        { ...issue.label, name: 'autodev' },
        { ...issue.label, name: 'autodev-spec-approved' },
      ];
      // A stranger labels it; then the approver edits the issue: neither decides.
      const byStranger = structuredClone(spec);
      byStranger.label = { ...issue.label, name: 'autodev-spec-approved' };
      byStranger.sender.login = 'mallory';
      expect((await github('issues', byStranger)).statusCode).toBe(202);
      const edited = structuredClone(spec);
      edited.action = 'edited';
      delete edited.label;
      edited.sender.login = 'Codertocat';
      expect((await github('issues', edited)).json().outcome).toBe('duplicate');
      expect(await t.handle.db.selectFrom('approvals').select('status').executeTakeFirstOrThrow()).toEqual({
        status: 'pending',
      });
      // The approver's own label decides it.
      const byApprover = structuredClone(byStranger);
      byApprover.sender.login = 'Codertocat';
      const decided = await github('issues', byApprover);
      expect(decided.statusCode, decided.body).toBe(200);
      expect(await t.handle.db.selectFrom('approvals').selectAll().executeTakeFirstOrThrow()).toMatchObject({
        kind: 'spec',
        status: 'approved',
        decided_by: 'github:Codertocat',
      });
    });

    it("a pull request comment addressed to the swarm on the swarm's pull request starts a fix or a review, once", async () => {
      const comment = githubExample('issue_comment', 0);
      comment.issue.pull_request = { url: `${githubRepoUrl}/pulls/${comment.issue.number}` };
      const mergeRequestId = await swarmMergeRequest(
        String(comment.issue.number),
        'autodev/8-login',
        null,
        githubRepoId,
      );
      const say = (id: number, body: string) => {
        const payload = structuredClone(comment);
        payload.comment.id = id;
        payload.comment.body = body;
        return payload;
      };
      const fix = await github('issue_comment', say(501, '@autodev fix the failing login test'));
      expect(fix.statusCode, fix.body).toBe(200);
      const review = await github('issue_comment', say(502, '@autodev review'));
      expect(review.statusCode, review.body).toBe(200);
      // The fix comment again under a new delivery id: one fact, one task.
      const again = await github('issue_comment', say(501, '@autodev fix the failing login test'));
      expect(again.json().outcome).toBe('duplicate');
      const login = comment.comment.user.login as string;
      const tasks = await t.handle.db.selectFrom('tasks').selectAll().orderBy('id').execute();
      expect(tasks.map((task) => [task.type, task.repo_id, task.created_by])).toEqual([
        ['implement_fix', githubRepoId, `github:${login}`],
        ['review_mr', githubRepoId, `github:${login}`],
      ]);
      expect(JSON.parse(tasks[0]!.payload)).toMatchObject({
        branch: 'autodev/8-login',
        merge_request_id: mergeRequestId,
        findings: [{ source: 'forge comment', author: login, body: 'fix the failing login test' }],
      });
    });

    it('an unknown event is 202 and ignored; a pull request comment addressed to the swarm on a non-swarm PR is ignored', async () => {
      const star = await github('star', githubExample('star', 0));
      expect(star.statusCode).toBe(202);
      const comment = githubExample('issue_comment', 0);
      comment.issue.pull_request = { url: `${githubRepoUrl}/pulls/${comment.issue.number}` };
      comment.comment.body = '@autodev fix the tests';
      const response = await github('issue_comment', comment);
      expect(response.statusCode).toBe(202);
      expect(response.json().detail).toMatch(/is not the swarm's/);
      expect(await count('tasks')).toBe(0);
    });
  });
});
