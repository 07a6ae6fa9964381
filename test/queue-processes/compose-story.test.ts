/**
 * @module The compose layout runs a story from a webhook to a merge (issue 17), as real separate processes of the
 * built CLI (`npm run build` first) on one PostgreSQL, each with its OWN data dir (nothing shared on disk):
 * `serve dashboard`, `serve webhook`, `serve scheduler` and one `serve agent:ROLE` per role of the story (pm,
 * architect, builder, reviewer, tester, security, devops). The repository is a project on the GitLab stand-in
 * (test/support/gitlab-stand-in.ts: its REST API and a real git HTTP remote), registered over the dashboard's API, so
 * only the dashboard's disk holds the registered clone: every agent process clones the remote into its own clone
 * cache, the builder pushes its task branch, the gate and devops processes fetch it. Sessions are the fake Claude CLI
 * (a stand-in for the model) submitting each role's scripted result; the forge's CI is a stand-in runner that marks
 * each pushed task-branch head's pipeline passed. A GitLab delivery to the webhook process starts the story; the spec
 * and the merge are approved over the dashboard's HTTP API; the merge happens in the forge. Checked: the merge commit
 * on the remote's `main` holds the builder's work, each agent process worked from its own clone, and the dashboard's
 * SSE stream (read from the start of the log) showed every event of the events table once, in log order; the
 * dashboard shows the merge request's diff from its own clone, fetched from the forge.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { cloneCachePath } from '../../src/forge/clone-cache.js';
import { roleForTaskType, type Role, type TaskType } from '../../src/domain/roles.js';
import { agentSettingsInput, waitFor, type FakeSession } from '../support/agent-fixtures.js';
import { killGroup } from '../support/child-processes.js';
import { readyReport, recordEventStream, serve, wholeLog, type Service } from '../support/compose-services.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { bareGit, branchSha } from '../support/forge-stand-in-http.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { GITLAB_PROJECT, issueHook } from '../webhooks/gitlab-payloads.js';
import { REVIEW_OK, SEC_OK, SPEC, STORY, TESTS_CLAIMED_OK } from '../workflow/pipeline-fixtures.js';

const GITLAB_SECRET = 'compose-story-gitlab-secret';
const SWARM_TOKEN = 'compose-story-swarm-token';
const PROJECT = 'swarm/compose';
const RECORDING = 'stream-json-tool-success.jsonl';

const SUM = 'export function sum(a, b) {\n  return a + b;\n}\n';

/** Each session role's scripted work: what the fake CLI writes and submits. */
const SESSIONS: Partial<Record<Role, FakeSession>> = {
  pm: { recording: RECORDING, submit: STORY },
  architect: { recording: RECORDING, submit: SPEC },
  builder: {
    recording: RECORDING,
    write: { 'sum.mjs': SUM },
    submit: {
      status: 'done',
      summary: 'sum added',
      branch: '{{branch}}',
      commits: [{ sha: 'deadbeef', message: 'sum' }],
      files_changed: ['sum.mjs'],
    },
  },
  reviewer: { recording: RECORDING, submit: REVIEW_OK },
  tester: { recording: RECORDING, submit: TESTS_CLAIMED_OK },
  security: { recording: RECORDING, submit: SEC_OK },
};
const AGENT_ROLES: Role[] = ['pm', 'architect', 'builder', 'reviewer', 'tester', 'security', 'devops'];

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: the compose layout, separate disks', (dialect) => {
  const t = useTestDatabase(dialect);
  const children: ChildProcess[] = [];
  let root: string;
  let gitlab: GitLabStandIn;
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-compose-story-'));
    gitlab = await new GitLabStandIn().start();
    gitlab.addUser(SWARM_TOKEN, 'swarm-bot');
  });
  afterAll(async () => {
    for (const child of children) killGroup(child);
    await gitlab?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** A process's own data dir and settings file (the fake CLI playing `session`). */
  function processFiles(name: string, session: FakeSession = {}) {
    const dataDir = path.join(root, name);
    fs.mkdirSync(dataDir);
    const config = path.join(root, `${name}.yaml`);
    fs.writeFileSync(
      config,
      YAML.stringify(
        agentSettingsInput({
          claude: session,
          overrides: { server: { port: 0 }, webhooks: { port: 0 }, llm: { default_provider: 'claude' } },
        }),
      ),
    );
    return { dataDir, config };
  }

  it(
    'a GitLab delivery starts a story that dashboard, webhook, scheduler and per-role agent processes run to a merge in the forge; the SSE stream misses nothing',
    { timeout: 180_000 },
    async () => {
      const state = await gitlab.createProject(PROJECT);
      const start = (name: string, args: string[], session?: FakeSession, env: Record<string, string> = {}) => {
        const files = processFiles(name, session);
        const service: Service = serve({
          databaseUrl: t.databaseUrl!,
          dataDir: files.dataDir,
          config: files.config,
          args,
          env: { GITLAB_TOKEN: SWARM_TOKEN, ...env },
          children,
        });
        return { ...service, dataDir: files.dataDir };
      };
      const dashboard = start('dashboard', ['serve', 'dashboard']);
      const webhook = start('webhook', ['serve', 'webhook'], undefined, {
        AUTODEV_GITLAB_WEBHOOK_SECRET: GITLAB_SECRET,
      });
      const scheduler = start('scheduler', ['serve', 'scheduler', '--health-port', '0']);
      const agents = new Map(
        AGENT_ROLES.map((role) => [
          role,
          start(`agent-${role}`, ['serve', `agent:${role}`, '--health-port', '0'], SESSIONS[role]),
        ]),
      );
      const services = [dashboard, webhook, scheduler, ...agents.values()];
      const bases = await Promise.all(
        services.map(async (s) => (await s.line(/health: +(http:\/\/\S+?)\/health/))[1]!),
      );
      for (const [role, agent] of agents) await agent.line(new RegExp(`agents: +${role}`));
      await dashboard.line(/is up: http/);
      await webhook.line(/webhooks are up: http/);
      for (const base of bases) expect((await readyReport(base)).status).toBe(200);
      const api = bases[0]!;
      const token = fs.readFileSync(path.join(dashboard.dataDir, 'admin-token'), 'utf8').trim();
      const call = async (method: string, route: string, body?: unknown) => {
        const response = await fetch(`${api}${route}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
        return JSON.parse(text) as Record<string, unknown>;
      };

      // The dashboard's event stream, from the start of the log.
      const stream = await recordEventStream(api, token);
      onTestFinished(() => stream.close());

      // The GitLab project registered over the dashboard's API: the dashboard's data dir holds its clone.
      const repo = (await call('POST', '/api/repos', { forge: 'gitlab', project: PROJECT, base_url: gitlab.url })) as {
        id: number;
      };
      const registered = await t.handle.db
        .selectFrom('repositories')
        .selectAll()
        .where('id', '=', repo.id)
        .executeTakeFirstOrThrow();
      expect(registered.location).toBe(cloneCachePath(dashboard.dataDir, repo.id));

      // The forge's CI, a stand-in runner: every pushed task-branch head gets a passed pipeline.
      const piped = new Set<string>();
      let ci = true;
      const runner = (async () => {
        while (ci) {
          const heads = (
            await bareGit(state.bare, ['for-each-ref', '--format=%(objectname)', 'refs/heads/autodev/'])
          ).stdout
            .split('\n')
            .filter(Boolean);
          for (const sha of heads) {
            if (piped.has(sha)) continue;
            piped.add(sha);
            gitlab.addPipeline(PROJECT, sha, 'success', [{ name: 'unit', status: 'success' }]);
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      onTestFinished(async () => {
        ci = false;
        await runner;
      });

      // A labelled issue delivered to the webhook process starts the story.
      const projectPayload = {
        ...GITLAB_PROJECT,
        name: 'compose',
        web_url: `${gitlab.url}/${PROJECT}`,
        git_http_url: gitlab.remoteUrl(PROJECT),
        git_ssh_url: `git@127.0.0.1:${PROJECT}.git`,
        path_with_namespace: PROJECT,
        default_branch: 'main',
      };
      const delivery = await fetch(`${bases[1]}/webhooks/gitlab`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Issue Hook',
          'x-gitlab-token': GITLAB_SECRET,
          'x-gitlab-event-uuid': '00000000-0000-4000-8000-000000000171',
        },
        body: JSON.stringify({ ...issueHook({ labels: ['autodev'], iid: 17 }), project: projectPayload }),
      });
      const started = (await delivery.json()) as { outcome: string; workflow_id: number };
      expect(delivery.status, JSON.stringify(started)).toBe(200);
      expect(started.outcome).toBe('acted');
      const workflowId = started.workflow_id;

      const workflow = () =>
        t.handle.db.selectFrom('workflows').selectAll().where('id', '=', workflowId).executeTakeFirstOrThrow();
      const failedTasks = () =>
        t.handle.db
          .selectFrom('tasks')
          .select(['id', 'type', 'error'])
          .where('workflow_id', '=', workflowId)
          .where('error', 'is not', null)
          .execute();
      /** Waits for the story's pending approval of `kind` (a task error on the way fails at once, saying which). */
      const pendingApproval = (kind: 'spec' | 'merge') =>
        waitFor(
          async () => `the ${kind} approval; story ${JSON.stringify(await workflow())}`,
          async () => {
            const failed = await failedTasks();
            if (failed.length > 0) throw new Error(`a task of the story failed: ${JSON.stringify(failed)}`);
            return t.handle.db
              .selectFrom('approvals')
              .selectAll()
              .where('workflow_id', '=', workflowId)
              .where('kind', '=', kind)
              .where('status', '=', 'pending')
              .executeTakeFirst();
          },
          120_000,
          50,
        );

      // PM and architect run; the spec is approved over the dashboard's API.
      const spec = await pendingApproval('spec');
      await call('POST', `/api/approvals/${spec.id}/approve`, { reason: 'looks right' });
      // Builder, then reviewer, tester and security (each on its own disk); the merge approved over the API.
      const merge = await pendingApproval('merge');
      await call('POST', `/api/approvals/${merge.id}/approve`, { reason: 'ship it' });
      await waitFor(
        async () => `the story to complete: ${JSON.stringify(await workflow())} ${JSON.stringify(await failedTasks())}`,
        async () => (await workflow()).status === 'completed',
        120_000,
        50,
      );

      // The merge landed in the remote: main's merge commit has the builder's pushed head as its second parent.
      const mergeRequest = await t.handle.db
        .selectFrom('merge_requests')
        .selectAll()
        .where('workflow_id', '=', workflowId)
        .where('status', '=', 'merged')
        .executeTakeFirstOrThrow();
      const main = (await branchSha(state.bare, 'main'))!;
      const parents = (await bareGit(state.bare, ['rev-list', '--parents', '-n', '1', main])).stdout.trim().split(' ');
      expect(parents).toHaveLength(3);
      expect(parents[2]).toBe(mergeRequest.head_sha);
      expect((await bareGit(state.bare, ['show', `${main}:sum.mjs`])).stdout).toBe(SUM);
      expect(gitlab.project(PROJECT).mergeRequests.map((mr) => mr.state)).toEqual(['merged']);
      // The dashboard shows the merge request's diff from its own clone, fetched from the forge (it never ran a task).
      const view = (await call('GET', `/api/merge-requests/${mergeRequest.id}`)) as {
        diff: { text: string | null; error: string | null };
      };
      expect(view.diff.error).toBeNull();
      expect(view.diff.text).toContain('+  return a + b;');

      // The story's tasks, one of each type, each run by its role's process; every one that names the repository
      // (all but the PM's user story) was worked from that process's own clone of the remote, in its own data dir.
      const tasks = await t.handle.db
        .selectFrom('tasks')
        .select(['type', 'repo_id'])
        .where('workflow_id', '=', workflowId)
        .execute();
      expect(tasks.map((task) => task.type).sort()).toEqual(
        [
          'create_user_story',
          'deploy',
          'implement_feature',
          'merge',
          'review_mr',
          'run_tests',
          'security_scan',
          'write_spec',
        ].sort(),
      );
      const cloned = tasks
        .filter((task) => task.repo_id !== null)
        .map((task) => roleForTaskType(task.type as TaskType));
      expect(cloned).toEqual(expect.arrayContaining(['builder', 'reviewer', 'tester', 'security', 'devops']));
      for (const role of cloned) {
        const clone = cloneCachePath(agents.get(role)!.dataDir, repo.id);
        expect(fs.existsSync(path.join(clone, '.git')), `${role}'s own clone`).toBe(true);
        expect(fs.readFileSync(path.join(clone, '.git', 'config'), 'utf8')).not.toContain(SWARM_TOKEN);
      }

      // Every writer stopped (agents hand nothing back: all done), then the stream must show the whole log: the same
      // events, in log order ((xid, id) on PostgreSQL), none missing, none twice.
      const writers = [webhook, scheduler, ...agents.values()];
      for (const service of writers) service.child.kill('SIGTERM');
      expect(await Promise.all(writers.map((service) => service.exited))).toEqual(writers.map(() => 0));
      const expected = await wholeLog(t.handle);
      await waitFor(
        async () => `the SSE stream to show all ${expected.length} events; it showed ${stream.received.length}`,
        async () => stream.received.length >= expected.length,
      );
      expect(stream.received).toEqual(expected);
      const storyEvents = await t.handle.db
        .selectFrom('events')
        .select('kind')
        .where('subject_type', '=', 'workflow')
        .where('subject_id', '=', String(workflowId))
        .execute();
      expect(storyEvents.length).toBeGreaterThan(5);
      expect(expected.map((event) => event.kind)).toEqual(
        expect.arrayContaining(['workflow.created', 'approval.approved', 'merge_request.merged', 'task.completed']),
      );
      await stream.close();
      dashboard.child.kill('SIGTERM');
      expect(await dashboard.exited).toBe(0);
    },
  );
});
