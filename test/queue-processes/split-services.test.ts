/**
 * @module Split services on one PostgreSQL, as real separate processes of the built CLI (`npm run build` first):
 * - `autodev serve agent:builder --health-port` answers `/health` and `/ready` (its agents loop running), works a
 *   task in a session of the fake Claude CLI (a stand-in for the model: it never finishes), and on SIGTERM hands the
 *   task back (released, the attempt not counted, lease cleared) before it exits 0;
 * - the compose layout: `serve dashboard`, `serve webhook`, `serve scheduler` and `serve agent:pm`, each with its
 *   own data dir, all ready; a GitLab delivery to the webhook process starts a story (the repository row stands for
 *   a GitLab project: no GitLab API is called), the PM process claims its first task, the others stop (SIGTERM), and
 *   the dashboard's SSE stream, read from the start of the log, shows exactly the events table in log order: nothing
 *   missed, nothing twice. Not covered here yet: the story running on to a merge across the processes.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { agentSettingsInput, makeGitRepo, registerRepo, waitFor } from '../support/agent-fixtures.js';
import { killGroup } from '../support/child-processes.js';
import { readyReport, recordEventStream, serve as serveProcess, wholeLog } from '../support/compose-services.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { GITLAB_PROJECT, issueHook } from '../webhooks/gitlab-payloads.js';

const GITLAB_SECRET = 'split-services-gitlab-secret';

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: split services, separate processes', (dialect) => {
  const t = useTestDatabase(dialect);
  const children: ChildProcess[] = [];
  const roots: string[] = [];
  afterAll(() => {
    for (const child of children) killGroup(child);
    for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
  });

  const serve = (dataDir: string, config: string, args: readonly string[], env: Record<string, string> = {}) =>
    serveProcess({ databaseUrl: t.databaseUrl!, dataDir, config, args, env, children });

  it(
    'serve agent:builder: /health and /ready on --health-port; SIGTERM hands its running task back and exits 0',
    { timeout: 90_000 },
    async () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-split-'));
      roots.push(root);
      const dataDir = path.join(root, 'agent-data');
      fs.mkdirSync(dataDir);
      const repo = makeGitRepo(root);
      const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
      const config = path.join(root, 'agent.yaml');
      // The fake Claude CLI (a stand-in for the model) starts the session and never ends it.
      fs.writeFileSync(config, YAML.stringify(agentSettingsInput({ claude: { scenario: 'hang' } })));
      const queue = new TaskQueue(t.handle);
      const task = await queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'Work that SIGTERM interrupts' },
        repoId,
        createdBy: 'test',
      });
      await queue.close();

      const agent = serve(dataDir, config, ['serve', 'agent:builder', '--health-port', '0']);
      const base = (await agent.line(/health: +(http:\/\/\S+?)\/health/))[1]!;
      await agent.line(/agents: +builder/);
      const claimed = await waitFor('the builder to claim the task', async () => {
        const row = await t.handle.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirst();
        return row?.status === 'in_progress' ? row : undefined;
      });
      expect(claimed.lease_owner).toMatch(/^builder@/);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect(await readyReport(base)).toEqual({
        status: 200,
        body: { ready: true, database: true, schema: true, loops: { server: true, agents: true }, reasons: [] },
      });

      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
      const released = await t.handle.db
        .selectFrom('tasks')
        .selectAll()
        .where('id', '=', task.id)
        .executeTakeFirstOrThrow();
      expect(released).toMatchObject({ status: 'pending', lease_owner: null, lease_expires_at: null });
      expect(released.attempts).toBe(claimed.attempts - 1);
      const kinds = (
        await t.handle.db
          .selectFrom('events')
          .select('kind')
          .where('subject_type', '=', 'task')
          .where('subject_id', '=', String(task.id))
          .orderBy('id')
          .execute()
      ).map((row) => row.kind);
      expect(kinds.at(-1)).toBe('task.released');
      expect(agent.output().stdout).toMatch(/stopping\.\.\.\nstopped\n$/);
    },
  );

  it(
    'dashboard, webhook, scheduler and agent processes: a GitLab delivery starts a story; the SSE stream shows every event once, in log order',
    { timeout: 90_000 },
    async () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-compose-'));
      roots.push(root);
      const dataDir = (name: string) => {
        const dir = path.join(root, name);
        fs.mkdirSync(dir);
        return dir;
      };
      const now = Date.now();
      await t.handle.db
        .insertInto('repositories')
        .values({
          name: 'gitlab-test',
          forge: 'gitlab',
          location: GITLAB_PROJECT.web_url,
          default_branch: 'master',
          test_command: null,
          deploy_command: null,
          lint_command: null,
          settings: '{}',
          created_at: now,
          updated_at: now,
        })
        .execute();
      const config = path.join(root, 'settings.yaml');
      fs.writeFileSync(
        config,
        YAML.stringify(
          agentSettingsInput({
            claude: { scenario: 'hang' },
            overrides: { server: { port: 0 }, webhooks: { port: 0 } },
          }),
        ),
      );
      const dashboardDir = dataDir('dashboard');
      const dashboard = serve(dashboardDir, config, ['serve', 'dashboard']);
      const webhook = serve(dataDir('webhook'), config, ['serve', 'webhook'], {
        AUTODEV_GITLAB_WEBHOOK_SECRET: GITLAB_SECRET,
      });
      const scheduler = serve(dataDir('scheduler'), config, ['serve', 'scheduler', '--health-port', '0']);
      const pm = serve(dataDir('pm'), config, ['serve', 'agent:pm', '--health-port', '0']);
      const services = [dashboard, webhook, scheduler, pm];
      const bases = await Promise.all(
        services.map(async (s) => (await s.line(/health: +(http:\/\/\S+?)\/health/))[1]!),
      );
      await dashboard.line(/is up: http/);
      await webhook.line(/webhooks are up: http/);
      await scheduler.line(/scheduler: /);
      await pm.line(/agents: +pm/);
      for (const base of bases) expect((await readyReport(base)).status).toBe(200);

      // The dashboard's event stream, from the start of the log (Last-Event-ID 0), recorded event by event.
      const token = fs.readFileSync(path.join(dashboardDir, 'admin-token'), 'utf8').trim();
      const stream = await recordEventStream(bases[0]!, token);
      // However the test ends, the stream is closed first (the processes' end then is not an error of the reader).
      onTestFinished(() => stream.close());
      const received = stream.received;

      const delivery = await fetch(`${bases[1]}/webhooks/gitlab`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Issue Hook',
          'x-gitlab-token': GITLAB_SECRET,
          'x-gitlab-event-uuid': '00000000-0000-4000-8000-000000000017',
        },
        body: JSON.stringify(issueHook({ labels: ['autodev'] })),
      });
      expect(delivery.status).toBe(200);
      const story = (await delivery.json()) as { outcome: string; workflow_id: number };
      expect(story.outcome).toBe('acted');

      // The PM process claims the story's first task (its session is the hanging stand-in; the repository is the
      // stand-in project, not on this disk, so the attempt may end at once: claimed at least once is the signal).
      await waitFor("the pm process to claim the story's first task", async () => {
        const claimed = await t.handle.db
          .selectFrom('events')
          .innerJoin('tasks', (join) =>
            join.on((eb) => eb(eb.cast('tasks.id', 'text'), '=', eb.ref('events.subject_id'))),
          )
          .select('events.actor')
          .where('events.kind', '=', 'task.claimed')
          .where('tasks.workflow_id', '=', story.workflow_id)
          .executeTakeFirst();
        return claimed?.actor.startsWith('pm@') ? claimed : undefined;
      });

      // Stop every writer but the dashboard (the PM hands its task back: more events), then the stream must show
      // the whole log: the same events, in the same order, none twice.
      for (const service of [pm, scheduler, webhook]) service.child.kill('SIGTERM');
      expect(await Promise.all([pm, scheduler, webhook].map((service) => service.exited))).toEqual([0, 0, 0]);
      const expected = await wholeLog(t.handle);
      await waitFor(
        async () => `the SSE stream to show all ${expected.length} events of the log; it showed ${received.length}`,
        async () => received.length >= expected.length,
      );
      expect(received).toEqual(expected);
      const kinds = expected.map((event) => event.kind);
      expect(kinds).toEqual(expect.arrayContaining(['workflow.created', 'task.created', 'task.claimed']));
      await stream.close();
      dashboard.child.kill('SIGTERM');
      expect(await dashboard.exited).toBe(0);
    },
  );
});
