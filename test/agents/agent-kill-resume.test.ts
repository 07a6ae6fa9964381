/**
 * @module An agent worker process killed mid-session: the task resumes on another process after its lease expires
 * and completes exactly once, with every commit kept and no outbox applied twice. Needs the build (`npm run build`):
 * the workers are `dist/test/support/agent-worker-process.js` running sessions of the fake Claude CLI.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnInGroup } from '../support/child-processes.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, vi } from 'vitest';
import { TaskQueue } from '../../src/queue/task-queue.js';
import {
  agentSettingsInput,
  gitIn,
  makeGitRepo,
  processesMentioning,
  registerRepo,
  settleEvents,
  waitFor,
  type FakeSession,
} from '../support/agent-fixtures.js';
import { DIALECTS, createTestDatabase, type TestDatabase, itOnSpread } from '../support/dialects.js';
import { builtScript } from '../support/worker-processes.js';

// Sessions start real processes (bubblewrap, node, the MCP server): generous on a loaded machine.
vi.setConfig({ testTimeout: 150_000 });

/** Short leases so a killed worker's task comes back quickly (heartbeat must stay under the lease). */
const QUEUE = {
  lease_seconds: 2,
  heartbeat_seconds: 1,
  max_attempts: 5,
  retry_base_seconds: 0.2,
  retry_max_seconds: 1,
};
const ANALYZE_REQUEST = {
  tool: 'create_task' as const,
  arguments: { type: 'analyze_repo', payload: { focus: 'exports' }, reason: 'The export code needs a look.' },
};

class AgentWorker {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  stderr = '';
  exitedAt: number | undefined;

  constructor(args: { database: string; dataDir: string; config: string }) {
    this.child = spawnInGroup(
      process.execPath,
      [
        builtScript('test/support/agent-worker-process.js'),
        ...['--database', args.database, '--data-dir', args.dataDir, '--config', args.config, '--roles', 'builder'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir() } },
    );
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exitedAt = Date.now();
        resolve();
      });
    });
    this.ready = new Promise((resolve, reject) => {
      let out = '';
      this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('"event":"ready"')) resolve();
      });
      void this.exited.then(() => reject(new Error(`agent worker exited before ready: ${this.stderr}`)));
    });
    this.ready.catch(() => undefined);
  }

  alive() {
    return this.exitedAt === undefined;
  }

  async kill(signal: NodeJS.Signals, graceMs = 10_000) {
    if (!this.alive()) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

describe.each(DIALECTS)('%s: an agent worker process killed with SIGKILL mid-session', (dialect) => {
  let t: TestDatabase | undefined;
  let root: string | undefined;
  const workers: AgentWorker[] = [];
  const databases: TestDatabase[] = [];
  const roots: string[] = [];

  afterAll(async () => {
    // Even when the test failed half-way: no child may outlive the file.
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await t?.drop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
    for (const own of databases) await own.drop();
    for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
  });

  itOnSpread(dialect, 0)(
    'resumes on another process after the lease expires: completed once, no lost commits, no duplicate children',
    async () => {
      t = await createTestDatabase(dialect);
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-kill-'));
      const db = t.handle.db;
      const database = t.databaseUrl ?? t.sqlitePath!;
      const dataDir = path.join(root, 'data');
      fs.mkdirSync(dataDir);
      const repo = makeGitRepo(root);
      const repoId = await registerRepo(db, { name: 'shop', location: repo.path });
      const queue = new TaskQueue(t.handle);
      const task = await queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'Resume after kill' },
        repoId,
        maxAttempts: 5,
        createdBy: 'test',
      });
      await queue.close();
      const branch = `autodev/${task.id}-resume-after-kill`;
      const worktree = path.join(dataDir, 'worktrees', 'shop', `task-${task.id}`);

      const config = (name: string, claude: FakeSession, watcher: { max_session_duration: number }) => {
        const file = path.join(root!, name);
        fs.writeFileSync(file, YAML.stringify(agentSettingsInput({ claude, overrides: { queue: QUEUE, watcher } })));
        return file;
      };
      // Worker 1's sessions write a file named after their attempt, queue a follow-up task, and never finish.
      const hanging = config(
        'worker-1.yaml',
        {
          scenario: 'write-hang',
          write: { 'attempt-{{attempt}}.txt': 'work of attempt {{attempt}}\n' },
          outbox: [ANALYZE_REQUEST],
        },
        { max_session_duration: 4 },
      );
      // Worker 2's sessions finish the work and submit.
      const finishing = config(
        'worker-2.yaml',
        {
          recording: 'stream-json-tool-success.jsonl',
          write: { 'final.txt': 'the finished feature\n' },
          outbox: [ANALYZE_REQUEST],
          submit: {
            status: 'done',
            summary: 'Finished the feature on top of the earlier attempts.',
            branch: '{{branch}}',
            commits: [{ sha: '0000000', message: 'Finish the feature' }],
            files_changed: ['final.txt'],
          },
        },
        { max_session_duration: 60 },
      );

      // 1. Attempt 1 hangs and the watcher stops it: a failed attempt, its work saved as a WIP commit on the branch.
      const first = new AgentWorker({ database, dataDir, config: hanging });
      workers.push(first);
      await first.ready;
      const state = async () =>
        JSON.stringify({
          sessions: await db
            .selectFrom('sessions')
            .select(['status', 'outcome'])
            .where('task_id', '=', task.id)
            .execute(),
          events: await settleEvents(db, task.id),
          stderr: first.stderr.slice(-3000),
        });
      await waitFor(
        async () => `attempt 1 to be stopped by the watcher: ${await state()}`,
        async () => (await settleEvents(db, task.id)).length >= 1,
        30_000,
      );
      const [attempt1] = await settleEvents(db, task.id);
      expect(attempt1?.kind).toBe('task.retry_scheduled');
      expect(JSON.parse(attempt1!.data)).toMatchObject({ error: expect.stringContaining('session time limit') });
      const wipCommit = gitIn(repo.path, 'rev-parse', `refs/heads/${branch}`);
      expect(gitIn(repo.path, 'show', `${wipCommit}:attempt-1.txt`)).toBe('work of attempt 1');

      // 2. Attempt 2's session has written its file and hangs: SIGKILL the whole worker process now.
      await waitFor(
        async () => `attempt 2 to be mid-session: ${await state()}`,
        async () => {
          const sessions = await db.selectFrom('sessions').select('status').where('task_id', '=', task.id).execute();
          return (
            sessions.length === 2 && sessions[1]?.status === 'running' && fs.existsSync(`${worktree}/attempt-2.txt`)
          );
        },
        20_000,
        20,
      );
      await first.kill('SIGKILL');
      expect(
        await db.selectFrom('tasks').select(['status', 'attempts']).where('id', '=', task.id).executeTakeFirst(),
      ).toEqual({ status: 'in_progress', attempts: 2 });
      // Its sandboxed CLI and MCP server died with it.
      await waitFor(
        'the killed worker session processes to be gone',
        () => processesMentioning(dataDir).length === 0,
        10_000,
      );

      // 3. Another process reclaims the task once the lease expires and completes it.
      const second = new AgentWorker({ database, dataDir, config: finishing });
      workers.push(second);
      await second.ready;
      await waitFor(
        `the task to complete on worker 2 (worker stderr: ${second.stderr})`,
        async () =>
          (await db.selectFrom('tasks').select('status').where('id', '=', task.id).executeTakeFirst())?.status ===
          'completed',
        45_000,
      );
      await second.kill('SIGTERM');
      expect(second.stderr).not.toContain('"level":50');

      // Completed exactly once, on the third attempt, after one lease expiry.
      const done = await db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
      expect(done).toMatchObject({ status: 'completed', attempts: 3, lease_owner: null });
      const events = await db
        .selectFrom('events')
        .select(['kind', 'actor'])
        .where('subject_type', '=', 'task')
        .where('subject_id', '=', String(task.id))
        .orderBy('id')
        .execute();
      const kinds = events.map((e) => e.kind);
      expect(kinds.filter((k) => k === 'task.completed')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'task.claimed')).toHaveLength(3);
      expect(kinds.filter((k) => k === 'task.lease_expired')).toHaveLength(1);
      const claimers = events.filter((e) => e.kind === 'task.claimed').map((e) => e.actor);
      expect(claimers[0]).toBe(claimers[1]);
      expect(claimers[2]).not.toBe(claimers[0]);

      // No lost commits: attempt 1's WIP commit is in the branch's history, and the tip holds attempt 2's uncommitted
      // work (saved with the final commit) and the final work. The default branch is untouched.
      const tip = gitIn(repo.path, 'rev-parse', `refs/heads/${branch}`);
      expect(JSON.parse(done.result!)).toMatchObject({ branch, head_commit: tip, provider: 'claude' });
      expect(gitIn(repo.path, 'merge-base', '--is-ancestor', wipCommit, tip)).toBe('');
      expect(gitIn(repo.path, 'show', `${tip}:attempt-1.txt`)).toBe('work of attempt 1');
      expect(gitIn(repo.path, 'show', `${tip}:attempt-2.txt`)).toBe('work of attempt 2');
      expect(gitIn(repo.path, 'show', `${tip}:final.txt`)).toBe('the finished feature');
      expect(gitIn(repo.path, 'rev-parse', 'refs/heads/main')).toBe(repo.initialCommit);

      // Every attempt queued the same follow-up; only the completing one's was applied, once.
      const children = await db.selectFrom('tasks').selectAll().where('parent_id', '=', task.id).execute();
      expect(children.map((c) => c.type)).toEqual(['analyze_repo']);

      // The killed session is not left "running" forever.
      const sessions = await db
        .selectFrom('sessions')
        .selectAll()
        .where('task_id', '=', task.id)
        .orderBy('id')
        .execute();
      expect(sessions.map((s) => s.status)).toEqual(['aborted', 'aborted', 'succeeded']);
      expect(sessions[1]!.outcome).toContain('lost');
      expect(sessions.every((s) => s.finished_at !== null)).toBe(true);
    },
  );

  itOnSpread(dialect, 1)(
    'a SIGKILL on the last attempt: the reclaim pass dead-letters it, closes its session and saves its work as WIP',
    async () => {
      const own = await createTestDatabase(dialect);
      databases.push(own);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-kill-last-'));
      roots.push(dir);
      const db = own.handle.db;
      const database = own.databaseUrl ?? own.sqlitePath!;
      const dataDir = path.join(dir, 'data');
      fs.mkdirSync(dataDir);
      const repo = makeGitRepo(dir);
      const repoId = await registerRepo(db, { name: 'last', location: repo.path });
      const queue = new TaskQueue(own.handle);
      const task = await queue.enqueue({
        type: 'implement_feature',
        payload: { title: 'Last chance' },
        repoId,
        maxAttempts: 1,
        createdBy: 'test',
      });
      await queue.close();
      const branch = `autodev/${task.id}-last-chance`;
      const clone = path.join(dataDir, 'worktrees', 'last', `task-${task.id}`);
      const file = path.join(dir, 'last.yaml');
      fs.writeFileSync(
        file,
        YAML.stringify(
          agentSettingsInput({
            claude: { scenario: 'write-hang', write: { 'half-done.txt': 'half of the work\n' } },
            overrides: { queue: QUEUE, watcher: { max_session_duration: 600 } },
          }),
        ),
      );

      // 1. The only attempt writes its file (uncommitted) and hangs: SIGKILL its worker.
      const first = new AgentWorker({ database, dataDir, config: file });
      workers.push(first);
      await first.ready;
      await waitFor(
        'the only attempt to be mid-session with uncommitted work',
        async () => {
          const sessions = await db.selectFrom('sessions').select('status').where('task_id', '=', task.id).execute();
          return sessions[0]?.status === 'running' && fs.existsSync(path.join(clone, 'half-done.txt'));
        },
        30_000,
        20,
      );
      await first.kill('SIGKILL');

      // 2. Another process's reclaim pass dead-letters the task once its lease expires.
      const second = new AgentWorker({ database, dataDir, config: file });
      workers.push(second);
      await second.ready;
      await waitFor(
        `the task to be dead-lettered and its session closed (worker stderr: ${second.stderr})`,
        async () => {
          const row = await db.selectFrom('tasks').select('status').where('id', '=', task.id).executeTakeFirst();
          const running = await db
            .selectFrom('sessions')
            .select('id')
            .where('task_id', '=', task.id)
            .where('status', '=', 'running')
            .execute();
          return (
            row?.status === 'failed' && running.length === 0 && gitIn(repo.path, 'branch', '--list', branch) !== ''
          );
        },
        30_000,
      );
      await second.kill('SIGTERM');

      // No running session, no uncommitted work: the file is on the task branch as a WIP commit that says what it is.
      const [session] = await db.selectFrom('sessions').selectAll().where('task_id', '=', task.id).execute();
      expect(session).toMatchObject({ status: 'aborted' });
      expect(session!.finished_at).not.toBeNull();
      expect(gitIn(repo.path, 'show', `${branch}:half-done.txt`)).toBe('half of the work');
      expect(gitIn(repo.path, 'log', '-1', '--format=%an: %s', branch)).toBe(
        `Auto-Dev: WIP: saved by Auto-Dev after the attempt at task ${task.id} was lost (its worker stopped)`,
      );
      expect(gitIn(repo.path, 'rev-parse', 'refs/heads/main')).toBe(repo.initialCommit);
    },
  );
});
