/**
 * @module The chaos test's stories (issue 17, item 4): three stories, each on its own local-forge repository, run
 * through scripted agent sessions (the fake Claude CLI, a stand-in for the model, playing every role from one
 * config: `byType`) in the real sandbox, with real git and the local forge's merge, by agent worker processes
 * (`agent-worker-process.ts`, every role but bug_finder, from the build: `npm run build` first) on a PostgreSQL
 * cluster of this file's own, while the test SIGKILLs a random agent process every few seconds (preferring one that
 * holds a task, so the kills land on work; never the first, which proves reconnection) and starts a replacement,
 * and restarts PostgreSQL once (`pg_ctl restart -m immediate`). The spec and merge approvals are given by the test through `decideApproval`, the
 * function behind `autodev approvals approve` and `POST /api/approvals/:id/approve`, as a human would.
 *
 * Checked: every story ends `completed` at `done`, one task per step, each completed once (one `task.completed`);
 * one merged merge request per story and exactly one merge commit on its repository's `main`, holding the builder's
 * file; never two runs of a task at once: no two sessions of a task overlap (a killed process's session ends at its
 * kill), and every claim of a task after the first follows a settle of the one before or a lease expiry of a claim
 * whose process was killed or whose heartbeat fell in the restart's outage; no session left `running`, no process
 * left behind, no agent process exited by itself (but one started while the database was down, which the test's
 * supervisor starts again, as a restart policy would), and the process never killed claimed tasks after the restart.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { decideApproval } from '../../src/workflow/approvals.js';
import { createStory } from '../../src/workflow/stories.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import {
  agentSettingsInput,
  gitIn,
  makeGitRepo,
  processesMentioning,
  registerRepo,
  waitFor,
} from '../support/agent-fixtures.js';
import { spawnInGroup } from '../support/child-processes.js';
import { DIALECTS } from '../support/dialects.js';
import { startPostgresCluster, withDatabase, type PostgresCluster } from '../support/postgres-cluster.js';
import { builtScript } from '../support/worker-processes.js';

const STORIES = 3;
const PROCESSES = 3;
const ROLES = 'pm,architect,builder,reviewer,tester,security,devops';
/** One SIGKILL (and one replacement) per interval while the stories run, at most KILLS in all (CI-sized). */
const KILL_EVERY_MS = 3_000;
const KILLS = 8;
/** Restart PostgreSQL once this many story tasks have completed. */
const RESTART_AFTER_COMPLETED = 8;
const STORIES_TIMEOUT_MS = 150_000;
/** Heartbeats and completions may fail on connections broken by the restart until the pools replaced them. */
const OUTAGE_SLACK_MS = 3_000;
/** Every step of a story, once each (no fix round: the gates pass). */
const STORY_STEPS = [
  'create_user_story',
  'write_spec',
  'implement_feature',
  'review_mr',
  'run_tests',
  'security_scan',
  'merge',
  'deploy',
];
/** Short leases, so a killed process's task comes back within seconds (the heartbeat well under the lease). */
const QUEUE = {
  lease_seconds: 3,
  heartbeat_seconds: 0.5,
  reclaim_seconds: 0.5,
  // Each kill of a holder costs its tasks an attempt; the default 3 would dead-letter a task killed three times.
  max_attempts: 25,
  retry_base_seconds: 0.2,
  retry_max_seconds: 1,
};
const HUMAN = 'cli:chaos-test';

/** What the fake Claude CLI plays for each task type: a valid result of its contract; the builder writes a file. */
const SESSIONS = {
  recording: 'stream-json-tool-success.jsonl',
  byType: {
    create_user_story: {
      submit: {
        status: 'done',
        summary: 'Refined the story.',
        stories: [{ title: 'The story', body: 'As a user...', acceptance_criteria: ['it works'] }],
      },
    },
    write_spec: {
      submit: {
        status: 'done',
        summary: 'Wrote the spec.',
        spec_markdown: '# Spec\n\nAdd feature-{{task_id}}.txt.',
        files_to_touch: ['feature.txt'],
        test_plan: 'Read the file.',
        risks: [],
      },
    },
    implement_feature: {
      write: { 'feature-{{task_id}}.txt': 'the feature of task {{task_id}}, attempt {{attempt}}\n' },
      submit: {
        status: 'done',
        summary: 'Implemented the feature.',
        branch: '{{branch}}',
        commits: [{ sha: '0000000', message: 'Add the feature' }],
        files_changed: ['feature-{{task_id}}.txt'],
      },
    },
    review_mr: { submit: { status: 'done', summary: 'Looks right.', verdict: 'approve', findings: [] } },
    run_tests: {
      submit: {
        status: 'done',
        summary: 'All pass.',
        command: 'npm test',
        passed: 1,
        failed: 0,
        skipped: 0,
        failures: [],
      },
    },
    security_scan: { submit: { status: 'done', summary: 'Nothing found.', verdict: 'pass', findings: [] } },
  },
};

/** One agent worker process: its pid, when it became ready, was killed or exited, and its stderr's tail. */
class AgentProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  isReady = false;
  killedAt: number | undefined;
  exitedAt: number | undefined;
  exitCode: number | null = null;
  stderr = '';

  constructor(
    readonly name: string,
    args: { database: string; dataDir: string; config: string },
  ) {
    this.child = spawnInGroup(
      process.execPath,
      [
        builtScript('test/support/agent-worker-process.js'),
        ...['--database', args.database, '--data-dir', args.dataDir, '--config', args.config, '--roles', ROLES],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir() } },
    );
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitedAt = Date.now();
        this.exitCode = code;
        resolve();
      }),
    );
    this.ready = new Promise((resolve, reject) => {
      let out = '';
      this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (!this.isReady && out.includes('"event":"ready"')) {
          this.isReady = true;
          resolve();
        }
      });
      void this.exited.then(() => reject(new Error(`${this.name} exited before ready: ${this.stderr}`)));
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid!;
  }

  alive(): boolean {
    return this.exitedAt === undefined;
  }

  async kill(): Promise<void> {
    if (!this.alive()) return;
    this.killedAt = Date.now();
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(graceMs = 15_000): Promise<void> {
    if (!this.alive()) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The pid in an agent instance id (`role@host:pid#n`), the lease owner and claim actor of its tasks. */
function pidOf(instanceId: string | null): number | undefined {
  const match = /:(\d+)#\d+$/.exec(instanceId ?? '');
  return match ? Number(match[1]) : undefined;
}

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: chaos, stories through agent processes', () => {
  let cluster: PostgresCluster | undefined;
  let handle: DatabaseHandle | undefined;
  let databaseUrl = '';
  const processes: AgentProcess[] = [];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-chaos-stories-'));

  beforeAll(async () => {
    // Its own cluster (the restart would break every other file's), commits synchronous: see chaos.test.ts.
    cluster = await startPostgresCluster({ settings: { synchronous_commit: 'on' } });
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('create database stories');
    await admin.end();
    databaseUrl = withDatabase(cluster.adminUrl, 'stories');
    handle = await openDatabase({ databaseUrl, poolSize: 3 });
    await migrateToLatest(handle);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await handle?.close();
    cluster?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it(
    `${STORIES} stories through scripted sessions under SIGKILLs and a PostgreSQL restart: each merged once, no task run twice at once`,
    async () => {
      const db = handle!.db;
      const config = path.join(root, 'agents.yaml');
      const settingsInput = agentSettingsInput({
        claude: SESSIONS,
        loggedIn: ['claude'],
        overrides: { queue: QUEUE, watcher: { max_session_duration: 60 } },
      });
      fs.writeFileSync(config, YAML.stringify(settingsInput));
      // The stories' first tasks get the agents' queue settings (attempts), as `autodev stories create` would.
      const queue = new TaskQueue(handle!, queueSettingsFrom(SettingsSchema.parse(settingsInput)));
      const deps = workflowDeps(queue, 3);
      // One machine's disk shared by the agent processes (the local forge is a path; see ARCHITECTURE "Processes
      // and disks"): one data dir, one repository per story.
      const dataDir = path.join(root, 'data');
      fs.mkdirSync(dataDir);
      const repos: { name: string; path: string; initialCommit: string }[] = [];
      for (let i = 1; i <= STORIES; i++) {
        const repo = makeGitRepo(root, `repo-${i}`);
        await registerRepo(db, { name: `repo-${i}`, location: repo.path });
        repos.push({ name: `repo-${i}`, ...repo });
      }
      const workflows = [];
      for (const repo of repos) {
        workflows.push(await createStory(db, deps, { repo: repo.name, title: `Story on ${repo.name}`, actor: HUMAN }));
      }
      const workflowIds = workflows.map((w) => w.id);

      let started = 0;
      const startProcess = () => {
        const agent = new AgentProcess(`agent-${++started}`, { database: databaseUrl, dataDir, config });
        processes.push(agent);
        return agent;
      };
      for (let i = 0; i < PROCESSES; i++) startProcess();
      await Promise.all(processes.map((p) => p.ready));
      // agent-1 is never killed: a process that certainly lives through the restart, to prove it reconnects.
      const steady = processes[0]!;

      let restart: { begin: number; end?: number; done: Promise<void> } | undefined;
      const exitedBySelf: AgentProcess[] = [];
      const approved: number[] = [];
      let kills = 0;
      let lastKill = Date.now();
      const deadline = Date.now() + STORIES_TIMEOUT_MS;
      const state = async () => {
        const tasks = await db
          .selectFrom('tasks')
          .select(['id', 'workflow_id', 'type', 'status', 'attempts', 'lease_owner', 'error'])
          .orderBy('id')
          .execute();
        const flows = await db.selectFrom('workflows').select(['id', 'stage', 'status', 'state']).execute();
        return { tasks, flows };
      };
      for (;;) {
        if (Date.now() > deadline) {
          const s = await state().catch((e: Error) => e.message);
          const stderr = processes.map((p) => `--- ${p.name} (${p.pid}):\n${p.stderr.slice(-1500)}`).join('\n');
          throw new Error(`the stories did not end in ${STORIES_TIMEOUT_MS} ms: ${JSON.stringify(s)}\n${stderr}`);
        }
        await sleep(200);
        // While the database restarts the reads fail: the chaos goes on, the test reads again next round.
        const s = await state().catch(() => undefined);
        if (s) {
          if (s.flows.every((f) => f.status === 'completed')) break;
          const halted = s.flows.filter((f) => f.status !== 'running' && f.status !== 'completed');
          if (halted.length > 0) {
            throw new Error(
              `a story stopped for a human after ${kills} kills: ${JSON.stringify(halted)}\n` +
                `tasks: ${JSON.stringify(s.tasks.map((t) => [t.id, t.type, t.status, t.attempts]))}`,
            );
          }
          // The human at the CLI: approve each pending approval (spec, then merge) of the test's stories.
          const pending = await db
            .selectFrom('approvals')
            .select(['id', 'kind'])
            .where('status', '=', 'pending')
            .where('workflow_id', 'in', workflowIds)
            .execute()
            .catch(() => []);
          for (const approval of pending) {
            await decideApproval(db, deps, { id: approval.id, decision: 'approved', actor: HUMAN }).then(
              () => approved.push(approval.id),
              () => undefined, // the restart's outage: decided again next round
            );
          }
          const completed = s.tasks.filter((t) => t.status === 'completed').length;
          if (!restart && completed >= RESTART_AFTER_COMPLETED) {
            const r: { begin: number; end?: number; done: Promise<void> } = {
              begin: Date.now(),
              done: Promise.resolve(),
            };
            r.done = cluster!.restart('immediate').then(() => void (r.end = Date.now()));
            restart = r;
          }
          // The supervisor, as a restart policy would: a process that exited by itself is replaced.
          for (const agent of processes.filter((p) => !p.alive() && p.killedAt === undefined)) {
            if (exitedBySelf.includes(agent)) continue;
            exitedBySelf.push(agent);
            startProcess();
          }
          if (kills < KILLS && Date.now() - lastKill >= KILL_EVERY_MS) {
            const live = processes.filter((p) => p !== steady && p.alive() && p.isReady);
            const holders = new Set(s.tasks.filter((t) => t.status === 'in_progress').map((t) => pidOf(t.lease_owner)));
            const busy = live.filter((p) => holders.has(p.pid));
            const pool = busy.length > 0 ? busy : live;
            const victim = pool[Math.floor(Math.random() * pool.length)];
            if (victim) {
              await victim.kill();
              kills++;
              lastKill = Date.now();
              startProcess();
            }
          }
        }
      }
      const endedMs = Date.now() - (workflows[0]!.created_at ?? Date.now());
      await restart?.done;
      expect(restart?.end, 'PostgreSQL was restarted while the stories ran').toBeDefined();
      const outage = { from: restart!.begin, to: restart!.end! + OUTAGE_SLACK_MS };

      // No process exited by itself, but one started while the database was down: it cannot connect, or its first
      // statements (registering itself) fail on the restart, and it exits 1 before it is ready.
      const unexplained = exitedBySelf.filter(
        (p) =>
          !(
            !p.isReady &&
            /cannot connect to PostgreSQL|PostgresConnection\.executeQuery/.test(p.stderr) &&
            p.exitedAt! >= outage.from &&
            p.exitedAt! <= outage.to
          ),
      );
      expect(
        unexplained.map(
          (p) =>
            `${p.name} exited ${p.exitCode} at ${p.exitedAt} (outage ${outage.from}..${outage.to}): ${p.stderr.slice(0, 1500)}`,
        ),
      ).toEqual([]);
      await Promise.all(processes.map((p) => p.stop()));
      await waitFor(
        () => Promise.resolve(`no process of the agents left: ${processesMentioning(dataDir).join('\n')}`),
        () => processesMentioning(dataDir).length === 0,
        10_000,
      );

      // 1. Every story completed, one task per step, each completed once.
      const flows = await db.selectFrom('workflows').select(['id', 'status', 'stage']).orderBy('id').execute();
      expect(flows).toEqual(workflowIds.map((id) => ({ id, status: 'completed', stage: 'done' })));
      const tasks = await db.selectFrom('tasks').selectAll().orderBy('id').execute();
      expect(tasks.filter((t) => t.workflow_id === null)).toEqual([]);
      for (const id of workflowIds) {
        const own = tasks.filter((t) => t.workflow_id === id);
        expect(own.map((t) => t.type).sort(), `story ${id}`).toEqual([...STORY_STEPS].sort());
        expect(own.filter((t) => t.status !== 'completed')).toEqual([]);
      }
      const events = await db
        .selectFrom('events')
        .select(['id', 'kind', 'subject_id', 'actor', 'created_at'])
        .where('subject_type', '=', 'task')
        .orderBy('id')
        .execute();
      const problems: string[] = [];
      const killedAt = new Map(processes.map((p) => [p.pid, p.killedAt]));
      let lostToKills = 0;
      for (const task of tasks) {
        const say = (what: string) => problems.push(`task ${task.id} (${task.type}): ${what}`);
        const own = events.filter((e) => e.subject_id === String(task.id));
        const completions = own.filter((e) => e.kind === 'task.completed');
        if (completions.length !== 1) say(`${completions.length} task.completed events`);
        // 2. Claims: each one after the first follows the end of the one before: a settle, or a lease expiry of a
        // claim whose process was killed (or whose heartbeat fell in the restart's outage).
        let open: { actor: string; at: number } | undefined;
        for (const event of own) {
          if (event.kind === 'task.claimed') {
            if (open) say(`claimed by ${event.actor} while ${open.actor}'s claim was open`);
            open = { actor: event.actor, at: event.created_at };
          } else if (event.kind === 'task.lease_expired') {
            const pid = pidOf(open?.actor ?? null);
            const killed = pid === undefined ? undefined : killedAt.get(pid);
            const inOutage = event.created_at >= outage.from && open !== undefined && open.at <= outage.to;
            if (killed !== undefined && killed >= (open?.at ?? 0)) lostToKills++;
            else if (!inOutage)
              say(`lease of ${open?.actor} expired though its process was neither killed nor cut off`);
            open = undefined;
          } else if (['task.completed', 'task.retry_scheduled', 'task.failed', 'task.released'].includes(event.kind)) {
            open = undefined;
          }
        }
      }
      // 3. Sessions: none left running; no two of a task at once (a killed process's session ends at its kill).
      const sessions = await db.selectFrom('sessions').selectAll().orderBy('id').execute();
      expect(sessions.filter((s) => s.status === 'running')).toEqual([]);
      for (const task of tasks) {
        const own = sessions.filter((s) => s.task_id === task.id).sort((a, b) => a.started_at - b.started_at);
        for (let i = 0; i + 1 < own.length; i++) {
          const [before, after] = [own[i]!, own[i + 1]!];
          const killed = killedAt.get(pidOf(before.agent_instance_id) ?? -1);
          const end = Math.min(before.finished_at ?? Infinity, killed ?? Infinity);
          if (after.started_at < end) {
            problems.push(`task ${task.id}: session ${after.id} started while session ${before.id} ran`);
          }
        }
      }
      expect(problems).toEqual([]);

      // 4. One merged merge request per story; its repository's main has exactly one merge commit, the merge
      // request's, holding the builder's file; the work tree is clean.
      const mrs = await db.selectFrom('merge_requests').selectAll().orderBy('id').execute();
      for (const [i, id] of workflowIds.entries()) {
        const own = mrs.filter((mr) => mr.workflow_id === id);
        expect(
          own.map((mr) => mr.status),
          `story ${id}`,
        ).toEqual(['merged']);
        const repo = repos[i]!;
        const main = gitIn(repo.path, 'rev-parse', 'main');
        expect(own[0]!.merge_sha).toBe(main);
        expect(gitIn(repo.path, 'rev-list', '--merges', 'main').split('\n')).toEqual([main]);
        expect(gitIn(repo.path, 'merge-base', '--is-ancestor', repo.initialCommit, 'main')).toBe('');
        const builder = tasks.find((t) => t.workflow_id === id && t.type === 'implement_feature')!;
        expect(gitIn(repo.path, 'show', `main:feature-${builder.id}.txt`)).toMatch(
          new RegExp(`^the feature of task ${builder.id}, attempt \\d+$`),
        );
        expect(gitIn(repo.path, 'status', '--porcelain')).toBe('');
      }

      // The process the test never killed worked on after the restart: it reconnected by itself.
      const steadyClaims = events.filter(
        (e) => e.kind === 'task.claimed' && pidOf(e.actor) === steady.pid && e.created_at > restart!.end!,
      );
      expect(steadyClaims.length, `${steady.name} claimed tasks after the restart`).toBeGreaterThan(0);
      // The chaos hit running work, or this test proved nothing.
      expect(kills).toBeGreaterThan(0);
      expect(lostToKills, 'tasks whose lease expired after their process was killed').toBeGreaterThan(0);
      console.info(
        `chaos stories: ${STORIES} stories merged in ${endedMs} ms by ${processes.length} agent processes; ` +
          `${kills} SIGKILLs, ${lostToKills} leases lost to kills, ${exitedBySelf.length} exits during the outage; ` +
          `PostgreSQL restarted (immediate) in ${restart!.end! - restart!.begin} ms; ` +
          `${tasks.reduce((n, t) => n + t.attempts, 0)} attempts for ${tasks.length} tasks, ` +
          `${sessions.length} sessions (${sessions.filter((s) => s.status === 'aborted').length} aborted), ` +
          `${approved.length} approvals`,
      );
    },
    STORIES_TIMEOUT_MS + 60_000,
  );
});
