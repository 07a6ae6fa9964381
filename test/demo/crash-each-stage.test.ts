/**
 * @module A crash (SIGKILL of the whole `autodev demo` process group) at each stage of the story, the stages spread
 * over SQLite and PostgreSQL: the next `autodev demo` on the same data dir and database resumes the story to the end without duplicate
 * tasks, duplicate merge requests or approvals, lost commits, sessions left `running` or processes left behind.
 *
 * The stages form two chains, each a test on its own database and data dir (see CHAINS). Every session runs the real
 * Claude Code CLI in the sandbox against the demo's stand-in model; the first run's stand-in answers slowly
 * (`--replay-delay`, longer around the builders' commits) and the test watches the database (and the clone and
 * processes) until the stage is reached; it then freezes the group (SIGSTOP; the sandboxed CLI dies with its bwrap),
 * checks the stage is still the one it wants (the state cannot move while frozen) and kills it (SIGKILL). Three points
 * cannot be caught by watching alone:
 *
 * - an approval, which the demo decides itself within ~100 ms: a trigger the test puts on `approvals` refuses the
 *   killed run's decision (the demo says so and waits), so the approval is still pending when the kill lands; the
 *   trigger is dropped before the next run, which decides it;
 * - the merge's fast-forward of `main` (Auto-Dev's own git, on the host): a `git` first on the killed run's PATH
 *   (`writeGitShim`) runs the matching command and then holds it, so the kill lands exactly after it;
 * - the deploy, a no-op taking milliseconds without a deploy command: the repository gets one that runs for seconds.
 *
 * A builder killed after writing its files and before its commit loses nothing: the next attempt first saves the
 * clone's work as Auto-Dev's WIP commit, so the replayed `git commit` then finds nothing to commit (the demo reports
 * that the real result differed from the recording) and the WIP commit, not the agent's, carries the change to main.
 *
 * Leases are short (settings file: lease 6 s, heartbeat 1 s, reclaim every 1 s) so the resumed run takes the killed
 * run's tasks back within seconds. Needs the build (`npx tsc -p tsconfig.build.json`).
 */
import type { ChildProcess } from 'node:child_process';
import { spawnInGroup } from '../support/child-processes.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/schema.js';
import { processesMentioning, waitFor } from '../support/agent-fixtures.js';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { acrossDialects, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { SAMPLE_TEST_COMMAND } from '../../src/demo/sample-repo.js';
import { demoEnv, gitIn, runSampleTests } from './demo-fixtures.js';

/**
 * Short leases: a killed run's task is back in the queue about 6-7 s after the kill (not shorter: on a loaded 2-core
 * machine running real CLIs a live worker's heartbeat can lag a few seconds).
 */
const CRASH_SETTINGS = {
  queue: { lease_seconds: 6, heartbeat_seconds: 1, reclaim_seconds: 1, retry_base_seconds: 0.2, retry_max_seconds: 1 },
};
/** The first run's pace: each answer of the stand-in model waits this long. */
const FIRST_RUN_DELAY_MS = '40';
/** Around a builder's commit: slow enough that the watcher sees the files written and the commit not yet made. */
const BUILDER_DELAY_MS = '700';
const REACH_TIMEOUT_MS = 300_000;
const FEATURE_COMMIT = 'Add slugify(text) with tests';
const FIX_COMMIT = 'Fix slugify: collapse separator runs, trim dashes';
/** Auto-Dev's save of a killed attempt's uncommitted work (at reclaim, or when the next attempt takes the clone). */
const WIP_SUBJECT = /^WIP: saved by Auto-Dev .*task \d+/;
/** A test only the fix adds. */
const FIX_TEST = 'slugify keeps digits and drops dashes at either end';
/** Every (task type, round) of the demo story, once each. */
const STORY_TASKS = [
  'create_user_story',
  'write_spec',
  'implement_feature@0',
  'review_mr@0',
  'run_tests@0',
  'security_scan@0',
  'implement_fix@1',
  'review_mr@1',
  'run_tests@1',
  'security_scan@1',
  'merge',
  'deploy',
];
const REAL_GIT = '/usr/bin/git';

/** The test's view of one crash scenario. */
interface Crash {
  t: TestDatabase;
  /** The data dir (also the SQLite file's directory). */
  dataDir: string;
  /** Outside the data dir: the settings file, the git shim, the runs' TMPDIR (test and deploy checkouts). */
  scratch: string;
  /** The git shim's marker: written once it holds a command. */
  holdMarker: string;
}

interface Stage {
  name: string;
  /**
   * Hold the first run's `git -C <dir> ...` command whose arguments contain `match` and whose `<dir>` contains
   * `inDir`, after letting `skip` of them through.
   */
  hold?: { match: string; inDir: string; when: 'before' | 'after'; skip?: number };
  /** Refuse the first run's decisions of this kind of approval (a trigger on `approvals`, dropped after the kill). */
  refuseDecisions?: 'spec' | 'merge';
  /** Something to set up once the demo registered its repository (true: done). */
  prepare?: (crash: Crash) => Promise<boolean>;
  /** Undoes `prepare` after the kill, before the next run. */
  afterKill?: (crash: Crash) => Promise<void>;
  /** The task (`type` or `type@round`) in progress at the kill: the resumed run reclaims it, its attempt 2. */
  killedTask?: string;
  /** The first run's `--replay-delay` (default FIRST_RUN_DELAY_MS). */
  delayMs?: string;
  /** The killed builder's files reach main in Auto-Dev's WIP commit, not in the agent's commit (see the header). */
  savedAsWip?: 'feature' | 'fix';
  /** More checks after the resumed run. */
  afterResume?: (crash: Crash, db: Kysely<Database>) => Promise<void>;
  /** A description of the killed state when the stage is reached, else false. */
  reached: (crash: Crash, db: Kysely<Database>, run: DemoProcess) => Promise<string | false>;
}

const STAGES: Stage[] = [
  {
    name: 'PM mid-session (create_user_story in progress)',
    killedTask: 'create_user_story',
    reached: (c, db) => taskMidSession(db, 'create_user_story'),
  },
  {
    name: 'Architect mid-session (write_spec in progress)',
    killedTask: 'write_spec',
    reached: (c, db) => taskMidSession(db, 'write_spec'),
  },
  {
    name: 'spec approval pending',
    refuseDecisions: 'spec',
    reached: (c, db, run) => approvalPending(db, 'spec', run),
  },
  {
    name: 'Builder mid-session: files written, before its commit',
    killedTask: 'implement_feature@0',
    delayMs: BUILDER_DELAY_MS,
    savedAsWip: 'feature',
    afterResume: (c, db) => featureBranchHas(c, db, [WIP_SUBJECT]),
    reached: async (c, db) => {
      const mid = await taskMidSession(db, 'implement_feature');
      if (!mid) return false;
      const worktree = await worktreeOf(c, db, 'implement_feature');
      if (!fs.existsSync(path.join(worktree, 'test', 'slugify.test.js'))) return false;
      if (gitIn(worktree, 'log', '--format=%s', '-1') === FEATURE_COMMIT) return false;
      return `${mid}; src/slugify.js and test/slugify.test.js written, not committed`;
    },
  },
  {
    name: 'Builder mid-session: after its commit, before the task completes',
    killedTask: 'implement_feature@0',
    delayMs: BUILDER_DELAY_MS,
    afterResume: (c, db) => featureBranchHas(c, db, [new RegExp(`^${escapeRegExp(FEATURE_COMMIT)}$`)]),
    reached: async (c, db) => {
      const mid = await taskMidSession(db, 'implement_feature');
      if (!mid) return false;
      const worktree = await worktreeOf(c, db, 'implement_feature');
      if (!fs.existsSync(path.join(worktree, '.git'))) return false;
      if (gitIn(worktree, 'log', '--format=%s', '-1') !== FEATURE_COMMIT) return false;
      return `${mid}; committed "${FEATURE_COMMIT}" in its clone`;
    },
  },
  {
    name: 'gates round 0 in progress, while the real test command runs',
    killedTask: 'run_tests@0',
    // `node --test` on the sample repository takes about a second, too short to catch reliably on a loaded machine:
    // the killed run's test command waits 3 s first. The next run gets the shipped command back.
    prepare: (c) => setRepository(c, { test_command: `sleep 3 && ${SAMPLE_TEST_COMMAND}` }),
    afterKill: async (c) => void (await setRepository(c, { test_command: SAMPLE_TEST_COMMAND })),
    reached: async (c, db, run) => {
      // The test gate runs the command before the tester's session starts: the task is in progress, no session yet.
      const tests = await taskMidSession(db, 'run_tests', false, 'first');
      if (!tests) return false;
      const running = descendants(run.pgid).filter((p) => p.includes(`sleep 3 && ${SAMPLE_TEST_COMMAND}`));
      if (running.length === 0) return false;
      const gates = await db
        .selectFrom('tasks')
        .select(['type', 'status'])
        .where('type', 'in', ['review_mr', 'run_tests', 'security_scan'])
        .execute();
      return `${tests}; gates ${gates.map((g) => `${g.type}:${g.status}`).join(', ')}; test command running`;
    },
  },
  {
    name: 'implement_fix mid-session: files written, before its commit',
    killedTask: 'implement_fix@1',
    delayMs: BUILDER_DELAY_MS,
    savedAsWip: 'fix',
    reached: async (c, db) => {
      const mid = await taskMidSession(db, 'implement_fix');
      if (!mid) return false;
      const worktree = await worktreeOf(c, db, 'implement_fix');
      const tests = path.join(worktree, 'test', 'slugify.test.js');
      if (!fs.existsSync(tests) || !fs.readFileSync(tests, 'utf8').includes(FIX_TEST)) return false;
      if (gitIn(worktree, 'log', '--format=%s', '-1') === FIX_COMMIT) return false;
      return `${mid}; the fix and its new test written, not committed`;
    },
  },
  {
    name: 'merge approval pending',
    refuseDecisions: 'merge',
    reached: (c, db, run) => approvalPending(db, 'merge', run),
  },
  {
    name: 'merge: main fast-forwarded to the merge commit, not yet recorded',
    // The resumed run's merge finds its own merge commit on main and records it, instead of calling main "moved".
    afterResume: async (c, db) => {
      const merged = await db.selectFrom('events').select('data').where('kind', '=', 'merge_request.merged').execute();
      expect(merged.map((e) => JSON.parse(e.data) as Record<string, unknown>)).toEqual([
        expect.objectContaining({ recovered: expect.stringContaining('already on the target branch') }),
      ]);
      expect(
        await db.selectFrom('events').select('id').where('kind', '=', 'merge_request.merge_refused').execute(),
      ).toEqual([]);
    },
    hold: { match: 'merge --ff-only', inDir: '/demo/sample-repo', when: 'after' },
    reached: async (c, db) => {
      if (!fs.existsSync(c.holdMarker)) return false;
      const mr = await db.selectFrom('merge_requests').select(['id', 'status', 'target_sha']).executeTakeFirst();
      if (!mr || mr.status !== 'open') return false;
      const main = gitIn(sampleRepo(c), 'rev-parse', 'main');
      if (main === mr.target_sha) return false;
      return `main at ${main.slice(0, 7)} (a merge commit), merge request #${mr.id} still ${mr.status}`;
    },
  },
  {
    name: 'deploy in progress (the deploy command runs)',
    killedTask: 'deploy',
    afterResume: async (c, db) => {
      const deploy = await db
        .selectFrom('tasks')
        .select('result')
        .where('type', '=', 'deploy')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(deploy.result ?? '{}')).toMatchObject({ outcome: 'succeeded' });
    },
    // Without a deploy command the deploy is a no-op of milliseconds: give the repository one that takes seconds.
    prepare: (c) => setRepository(c, { deploy_command: 'sleep 3 && echo deployed by the crash test' }),
    reached: async (c, db, run) => {
      const mid = await taskMidSession(db, 'deploy', false);
      if (!mid) return false;
      const running = descendants(run.pgid).filter((p) => p.includes('sleep 3 && echo deployed'));
      if (running.length === 0) return false;
      return `${mid}; deploy command running`;
    },
  },
];

/**
 * The feature's commits (subjects, newest first) as merged: the merged branch (main's second parent; the task
 * branches themselves are removed after the merge) beyond main's start, without the fix round's commit (the agent's,
 * or Auto-Dev's WIP save of it when the fix was killed before its commit). Nothing lost.
 */
async function featureBranchHas(c: Crash, db: Kysely<Database>, subjects: RegExp[]): Promise<void> {
  const repo = sampleRepo(c);
  const fix = await db.selectFrom('tasks').select('id').where('type', '=', 'implement_fix').executeTakeFirstOrThrow();
  const fixWip = new RegExp(`^WIP: saved by Auto-Dev .*task ${fix.id}\\b`);
  const log = gitIn(repo, 'log', '--format=%s', 'main^1..main^2')
    .split('\n')
    .filter((subject) => subject !== FIX_COMMIT && !fixWip.test(subject));
  expect(log, log.join('\n')).toHaveLength(subjects.length);
  log.forEach((subject, i) => expect(subject).toMatch(subjects[i]!));
  // Both files the builder wrote reached main.
  expect(gitIn(repo, 'ls-tree', '--name-only', '-r', 'main').split('\n')).toEqual(
    expect.arrayContaining(['src/slugify.js', 'test/slugify.test.js']),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Changes the demo's repository row; true once it exists (the demo registers it at its start). */
async function setRepository(c: Crash, values: { test_command?: string; deploy_command?: string }): Promise<boolean> {
  const updated = await c.t.handle.db
    .updateTable('repositories')
    .set(values)
    .where('name', '=', 'demo-sample')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** `type`'s newest (or first) task is in progress (with a running session, for agent tasks). */
async function taskMidSession(
  db: Kysely<Database>,
  type: string,
  withSession = true,
  which: 'first' | 'last' = 'last',
): Promise<string | false> {
  const task = await db
    .selectFrom('tasks')
    .select(['id', 'status', 'attempts'])
    .where('type', '=', type)
    .orderBy('id', which === 'first' ? 'asc' : 'desc')
    .executeTakeFirst();
  if (!task || task.status !== 'in_progress') return false;
  if (withSession) {
    const session = await db
      .selectFrom('sessions')
      .select('id')
      .where('task_id', '=', task.id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (!session) return false;
  }
  return `${type} #${task.id} in progress (attempt ${task.attempts})`;
}

/** `kind`'s approval is pending, and the demo tried to decide it (refused by the test's trigger). */
async function approvalPending(
  db: Kysely<Database>,
  kind: 'spec' | 'merge',
  run: DemoProcess,
): Promise<string | false> {
  const approval = await db
    .selectFrom('approvals')
    .select(['id', 'status'])
    .where('kind', '=', kind)
    .executeTakeFirst();
  if (approval?.status !== 'pending') return false;
  if (!run.stdout.includes(`approval #${approval.id} was not approved by the demo`)) return false;
  return `${kind} approval #${approval.id} pending (the killed run's decision was refused)`;
}

/** A trigger refusing every change of a `kind` approval (the demo's own decision); `undefined` drops it. */
async function refuseApprovalDecisions(t: TestDatabase, kind: 'spec' | 'merge' | undefined): Promise<void> {
  const db = t.handle.db;
  const refuse = kind !== undefined;
  if (t.handle.dialect.serializesWriters) {
    if (refuse) {
      await sql`create trigger crash_test_refuse before update on approvals when old.kind = ${sql.lit(kind)}
        begin select raise(abort, 'refused by the crash test'); end`.execute(db);
    } else {
      await sql`drop trigger crash_test_refuse`.execute(db);
    }
    return;
  }
  if (refuse) {
    await sql`create function crash_test_refuse() returns trigger language plpgsql as
      $$ begin raise exception 'refused by the crash test'; end $$`.execute(db);
    await sql`create trigger crash_test_refuse before update on approvals
      for each row when (old.kind = ${sql.lit(kind)}) execute function crash_test_refuse()`.execute(db);
  } else {
    await sql`drop trigger crash_test_refuse on approvals`.execute(db);
    await sql`drop function crash_test_refuse()`.execute(db);
  }
}

function sampleRepo(c: Crash): string {
  return path.join(fs.realpathSync(c.dataDir), 'demo', 'sample-repo');
}

async function worktreeOf(c: Crash, db: Kysely<Database>, type: string): Promise<string> {
  const task = await db
    .selectFrom('tasks')
    .select('id')
    .where('type', '=', type)
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  return path.join(fs.realpathSync(c.dataDir), 'worktrees', 'demo-sample', `task-${task.id}`);
}

/** A `git` that holds the Nth command matching CRASH_GIT_MATCH (before or after running it) until it is killed. */
function writeGitShim(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, 'git');
  fs.writeFileSync(
    shim,
    `#!/bin/sh
# git-hold.sh: the crash test's git (see crash-each-stage.test.ts).
case " $* " in
  *" -C "*"$CRASH_GIT_IN"*" $CRASH_GIT_MATCH "*)
    n=$(cat "$CRASH_GIT_MARKER.count" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" > "$CRASH_GIT_MARKER.count"
    if [ "$n" -gt "\${CRASH_GIT_SKIP:-0}" ]; then
      if [ "$CRASH_GIT_WHEN" = after ]; then ${REAL_GIT} "$@"; echo "ran: $?" > "$CRASH_GIT_MARKER.tmp"
      else echo "held before" > "$CRASH_GIT_MARKER.tmp"; fi
      mv "$CRASH_GIT_MARKER.tmp" "$CRASH_GIT_MARKER"
      exec sleep 600
    fi
    ;;
esac
exec ${REAL_GIT} "$@"
`,
  );
  fs.chmodSync(shim, 0o755);
}

/** The command lines of the processes descending from `pid` (not itself). */
function descendants(pid: number): string[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: string[] = [];
  const queue = [...(children.get(pid) ?? [])];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    try {
      found.push(fs.readFileSync(`/proc/${next}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // gone meanwhile
    }
    queue.push(...(children.get(next) ?? []));
  }
  return found;
}

/** The process ids in process group `pgid`. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) members.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** One `autodev demo` run in its own process group. */
class DemoProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stdout = '';
  stderr = '';
  code: number | null | undefined;

  constructor(c: Crash, args: readonly string[], extraEnv: Record<string, string>) {
    this.child = spawnInGroup(
      process.execPath,
      [AUTODEV_BIN, '--data-dir', c.dataDir, '--config', path.join(c.scratch, 'settings.yaml'), 'demo', ...args],
      {
        env: { ...demoEnv(c.t), TMPDIR: path.join(c.scratch, 'tmp'), ...extraEnv },
        cwd: c.scratch,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code) => {
        this.code = code;
        resolve(code);
      }),
    );
  }

  get pgid(): number {
    return this.child.pid!;
  }

  output(): string {
    return `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`;
  }

  /** SIGKILL to the whole group; resolves when the leader has exited and no member is left. */
  async kill(): Promise<void> {
    signalGroup(this.pgid, 'SIGKILL');
    await this.exited;
    const deadline = Date.now() + 10_000;
    while (groupMembers(this.pgid).length > 0 && Date.now() < deadline) await sleep(50);
  }
}

/** Starts the first run, waits for `stage`, kills the group there; returns what the stage looked like. */
async function crashAt(c: Crash, stage: Stage): Promise<{ run: DemoProcess; killedAt: string }> {
  const env: Record<string, string> = {};
  if (stage.hold) {
    const shimDir = path.join(c.scratch, 'bin');
    writeGitShim(shimDir);
    Object.assign(env, {
      PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      CRASH_GIT_MATCH: stage.hold.match,
      CRASH_GIT_IN: stage.hold.inDir,
      CRASH_GIT_WHEN: stage.hold.when,
      CRASH_GIT_SKIP: String(stage.hold.skip ?? 0),
      CRASH_GIT_MARKER: c.holdMarker,
    });
  }
  if (stage.refuseDecisions) await refuseApprovalDecisions(c.t, stage.refuseDecisions);
  const run = new DemoProcess(c, ['--replay-delay', stage.delayMs ?? FIRST_RUN_DELAY_MS], env);
  let prepared = stage.prepare === undefined;
  const db = c.t.handle.db;
  const deadline = Date.now() + REACH_TIMEOUT_MS;
  try {
    for (;;) {
      if (run.code !== undefined) throw new Error(`the demo exited (${run.code}) before "${stage.name}"`);
      if (Date.now() > deadline) throw new Error(`"${stage.name}" not reached within ${REACH_TIMEOUT_MS} ms`);
      if (!prepared) prepared = await stage.prepare!(c);
      if (await stage.reached(c, db, run)) {
        // Freeze the whole run, let in-flight commits land, and look again: what we kill is what we checked.
        signalGroup(run.pgid, 'SIGSTOP');
        await sleep(100);
        const killedAt = await stage.reached(c, db, run);
        if (killedAt) {
          await run.kill();
          return { run, killedAt };
        }
        signalGroup(run.pgid, 'SIGCONT');
      }
      // Every stage lasts at least about a second (a session's CLI start, a held command, a 3 s command, 700 ms model
      // answers around a builder's commit): a look every 40 ms catches it without spending a CPU on looking.
      await sleep(40);
    }
  } catch (error) {
    await run.kill();
    throw new Error(`${(error as Error).message}\n${run.output()}`);
  } finally {
    if (stage.refuseDecisions) await refuseApprovalDecisions(c.t, undefined);
  }
}

/** Exactly one task per (type, round) of the story; returns the keys in id order. */
async function taskKeys(db: Kysely<Database>, workflowId: number) {
  const tasks = await db.selectFrom('tasks').selectAll().where('workflow_id', '=', workflowId).orderBy('id').execute();
  return tasks.map((task) => {
    const round = (JSON.parse(task.payload) as { round?: unknown }).round;
    const key = typeof round === 'number' ? `${task.type}@${round}` : task.type;
    return { key, status: task.status, attempts: task.attempts };
  });
}

/**
 * The stages as two chains of kills on one story each: a chain's next run resumes the story from the kill before and
 * is itself killed at the chain's next stage; its last run finishes the story. Each stage is still killed once and
 * resumed from once, on a real run (what a stage's own resumed run used to prove, the next stage's run proves by
 * reaching it; the end state is checked once per chain), for a fifth of the demo runs of a story per stage. The two
 * builder stages fall in different chains (a builder killed before its commit never commits: its retry finds the work
 * saved), and so do the two WIP saves. The chain with both slow builder runs (BUILDER_DELAY_MS) and the fix round
 * has one stage fewer, so the two take about as long.
 */
const CHAINS: [string, Stage[]][] = [
  [
    'PM, Architect, spec approval, builder before its commit, merge approval, merge',
    [
      'PM mid-session (create_user_story in progress)',
      'Architect mid-session (write_spec in progress)',
      'spec approval pending',
      'Builder mid-session: files written, before its commit',
      'merge approval pending',
      'merge: main fast-forwarded to the merge commit, not yet recorded',
    ].map(stageNamed),
  ],
  [
    'builder after its commit, gates, fix before its commit, deploy',
    [
      'Builder mid-session: after its commit, before the task completes',
      'gates round 0 in progress, while the real test command runs',
      'implement_fix mid-session: files written, before its commit',
      'deploy in progress (the deploy command runs)',
    ].map(stageNamed),
  ],
];

function stageNamed(name: string): Stage {
  const stage = STAGES.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage named "${name}"`);
  return stage;
}

describe('autodev demo killed (SIGKILL) at each stage resumes cleanly', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('every stage is in exactly one chain', () => {
    expect(CHAINS.flatMap(([, chain]) => chain.map((stage) => stage.name)).sort()).toEqual(
      STAGES.map((stage) => stage.name).sort(),
    );
  });

  // The chains spread over SQLite and PostgreSQL (the recovery's SQL, reclaim and retry, runs on both in the queue's
  // and the workflow's own tests).
  it.concurrent.each(acrossDialects(CHAINS).map(([dialect, [name, chain]]) => [dialect, name, chain] as const))(
    '%s: killed at: %s',
    async (dialect, _name, chain) => {
      const t = await createTestDatabase(dialect);
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-crash-'));
      fs.mkdirSync(path.join(scratch, 'tmp'));
      fs.writeFileSync(path.join(scratch, 'settings.yaml'), YAML.stringify(CRASH_SETTINGS));
      const c: Crash = { t, dataDir: t.dir, scratch, holdMarker: path.join(scratch, 'git-held') };
      const runs: DemoProcess[] = [];
      cleanups.push(async () => {
        await Promise.all(runs.map((run) => run.kill()));
        await t.drop();
        fs.rmSync(scratch, { recursive: true, force: true });
      });
      const db = t.handle.db;

      // 1. Each run killed with its whole process group at its stage; from the second on, each resumed the story.
      const killedAts: string[] = [];
      let workflowId: number | undefined;
      for (const stage of chain) {
        const { run, killedAt } = await crashAt(c, stage);
        runs.push(run);
        await stage.afterKill?.(c);
        const context = `killed at: ${killedAt}\n${run.output()}`;
        expect(run.code, context).toBeNull(); // killed by a signal, not exited
        expect(groupMembers(run.pgid)).toEqual([]);
        // A sandboxed command (a gate's test or deploy command) runs in a process group of its own; its bubblewrap
        // dies with its parent (--die-with-parent), which the kernel carries out after the run's group is gone.
        const left = () => [...processesMentioning(c.dataDir), ...processesMentioning(scratch)];
        await waitFor(
          () => Promise.resolve(`no process of the killed run left: ${left().join('\n')}`),
          () => left().length === 0,
          10_000,
        );
        const workflow = await db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
        expect(workflow.status, context).toBe('running');
        if (workflowId !== undefined) {
          expect(workflow.id, context).toBe(workflowId);
          expect(run.stdout, context).toContain(`resuming the unfinished demo story #${workflowId}`);
        }
        workflowId = workflow.id;
        killedAts.push(killedAt);
      }

      // 2. The last run on the same data dir and database resumes the story to the end.
      const last = new DemoProcess(c, ['--replay-delay', '0'], {});
      runs.push(last);
      const timer = setTimeout(() => signalGroup(last.pgid, 'SIGKILL'), 480_000);
      const code = await last.exited;
      clearTimeout(timer);
      const context = `killed at:\n${killedAts.join('\n')}\nlast run ${last.output()}`;
      expect(code, context).toBe(0);
      expect(last.stdout, context).toContain(`resuming the unfinished demo story #${workflowId}`);
      expect(last.stdout, context).not.toContain('sample-repo-2');

      // 3. One story, completed; one task per (type, round), all completed (a retried attempt is not a duplicate).
      const workflows = await db.selectFrom('workflows').select(['id', 'status', 'stage']).execute();
      expect(workflows, context).toEqual([{ id: workflowId, status: 'completed', stage: 'done' }]);
      const tasks = await taskKeys(db, workflowId!);
      expect(tasks.map((task) => task.key).sort(), context).toEqual([...STORY_TASKS].sort());
      expect(
        tasks.filter((task) => task.status !== 'completed'),
        context,
      ).toEqual([]);
      expect(Math.max(...tasks.map((task) => task.attempts)), context).toBeLessThanOrEqual(2);
      for (const stage of chain) {
        if (stage.killedTask) {
          expect(tasks.find((task) => task.key === stage.killedTask)?.attempts, context).toBe(2);
        }
      }
      expect(await db.selectFrom('tasks').select('id').where('workflow_id', 'is', null).execute()).toEqual([]);
      const approvals = await db.selectFrom('approvals').select(['kind', 'status']).orderBy('id').execute();
      expect(approvals, context).toEqual([
        { kind: 'spec', status: 'approved' },
        { kind: 'merge', status: 'approved' },
      ]);

      // 4. One merge request, merged; main holds the merge commit and the feature and fix commits, once each.
      const mrs = await db.selectFrom('merge_requests').selectAll().where('workflow_id', '=', workflowId!).execute();
      expect(
        mrs.map((mr) => mr.status),
        context,
      ).toEqual(['merged']);
      const repo = sampleRepo(c);
      const main = gitIn(repo, 'rev-parse', 'main');
      expect(mrs[0]!.merge_sha, context).toBe(main);
      expect(gitIn(repo, 'rev-list', '--parents', '-n', '1', 'main').split(' '), context).toHaveLength(3);
      expect(gitIn(repo, 'log', '-1', '--format=%B', 'main'), context).toContain(`(merge request ${mrs[0]!.id})`);
      const subjects = gitIn(repo, 'log', '--format=%s', 'main').split('\n');
      // The agent's commit once; or, when the kill came between its files and its commit, Auto-Dev's WIP commit.
      const saved = chain.flatMap((stage) => (stage.savedAsWip ? [stage.savedAsWip] : []));
      const wips = subjects.filter((s) => s.startsWith('WIP: '));
      expect(wips, context).toEqual(saved.map(() => expect.stringMatching(WIP_SUBJECT)));
      expect(
        subjects.filter((s) => s === FEATURE_COMMIT),
        context,
      ).toHaveLength(saved.includes('feature') ? 0 : 1);
      expect(
        subjects.filter((s) => s === FIX_COMMIT),
        context,
      ).toHaveLength(saved.includes('fix') ? 0 : 1);
      expect(
        subjects.filter((s) => s.startsWith('Merge ')),
        context,
      ).toHaveLength(1);
      expect(gitIn(repo, 'status', '--porcelain'), context).toBe('');
      expect(runSampleTests(repo), context).toEqual({ code: 0, pass: 7, fail: 0 });

      for (const stage of chain) await stage.afterResume?.(c, db);

      // 5. Nothing left running: no session, no process of any run.
      const running = await db.selectFrom('sessions').select(['id', 'task_id']).where('status', '=', 'running');
      expect(await running.execute(), context).toEqual([]);
      expect(processesMentioning(c.dataDir)).toEqual([]);
      expect(processesMentioning(scratch)).toEqual([]);
    },
    900_000,
  );
});
