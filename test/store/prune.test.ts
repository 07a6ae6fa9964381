/**
 * @module Retention on both engines: old finished tasks, old events and old transcripts go, in batches; recent rows,
 * unfinished tasks and the tasks of a story still running stay; `--dry-run` counts and deletes nothing; a change-log
 * follower (a cursor, or a `Last-Event-ID` naming a deleted event) reads on without missing or repeating a surviving
 * event; and the scheduler's retention slot runs once however many schedulers race for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventCursorAfter, readEvents, START_OF_LOG, type EventCursor } from '../../src/events/read-events.js';
import { recordEvent } from '../../src/events/record-event.js';
import { createLogger } from '../../src/log.js';
import { RetentionRunner } from '../../src/scheduler/retention-runner.js';
import { pruneOldRows, type RetentionPolicy } from '../../src/store/prune.js';
import type { TaskStatus } from '../../src/domain/roles.js';
import type { WorkflowStatus } from '../../src/store/schema.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.now();
const OLD = NOW - 100 * DAY;
const RECENT = NOW - 2 * DAY;
const POLICY: RetentionPolicy = {
  finished_tasks_days: 90,
  events_days: 90,
  transcripts_days: 30,
  sessions_days: 0,
  process_logs_days: 30,
  batch_size: 2,
};

describe.each(DIALECTS)('%s: retention', (dialect) => {
  const t = useTestDatabase(dialect);
  const db = () => t.handle.db;

  async function workflow(status: WorkflowStatus): Promise<number> {
    const row = await db()
      .insertInto('workflows')
      .values({
        kind: 'story',
        status,
        stage: 'implement',
        title: `a ${status} story`,
        body: '',
        repo_id: null,
        state: '{}',
        created_by: 'test',
        created_at: OLD,
        updated_at: OLD,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function task(name: string, status: TaskStatus, finishedAt: number | null, workflowId: number | null = null) {
    const row = await db()
      .insertInto('tasks')
      .values({
        type: 'implement_story',
        status,
        priority: 3,
        payload: JSON.stringify({ name }),
        max_attempts: 3,
        run_after: OLD,
        workflow_id: workflowId,
        created_by: 'test',
        created_at: OLD,
        updated_at: finishedAt ?? OLD,
        finished_at: finishedAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function session(finishedAt: number | null, events: number): Promise<number> {
    const row = await db()
      .insertInto('sessions')
      .values({
        task_id: null,
        role: 'builder',
        provider: 'claude',
        status: finishedAt === null ? 'running' : 'succeeded',
        cost_usd: 0.5,
        started_at: (finishedAt ?? NOW) - 60_000,
        finished_at: finishedAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (let seq = 1; seq <= events; seq++) {
      await db()
        .insertInto('session_events')
        .values({ session_id: row.id, seq, kind: 'text', data: '{}', created_at: OLD })
        .execute();
    }
    return row.id;
  }

  const event = (kind: string, at: number) =>
    recordEvent(db(), { kind, subjectType: 'test', subjectId: kind, actor: 'test', now: at });

  /**
   * Follows the log from `from` until `last` has been read (on PostgreSQL a row shows once every older transaction on
   * the cluster has ended, so a busy cluster can hold it back a moment): every kind read, in order.
   */
  async function readUntil(from: EventCursor, last: string): Promise<string[]> {
    const kinds: string[] = [];
    let cursor = from;
    const deadline = Date.now() + 20_000;
    while (kinds.at(-1) !== last) {
      const page = await readEvents(t.handle, cursor, 2);
      kinds.push(...page.rows.map((row) => row.kind));
      cursor = page.cursor;
      if (page.rows.length === 0) {
        if (Date.now() > deadline) throw new Error(`"${last}" not read within 20 s; read ${kinds.join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return kinds;
  }

  async function seed() {
    const running = await workflow('running');
    const done = await workflow('completed');
    const ids = {
      oldCompleted: await task('old completed', 'completed', OLD),
      oldFailed: await task('old failed', 'failed', OLD),
      oldCancelled: await task('old cancelled', 'cancelled', OLD),
      oldOfDoneStory: await task('old, of a done story', 'completed', OLD, done),
      oldOfRunningStory: await task('old, of a running story', 'completed', OLD, running),
      recentCompleted: await task('recent completed', 'completed', RECENT),
      oldPending: await task('old pending', 'pending', null),
      oldInProgress: await task('old in progress', 'in_progress', null),
    };
    for (let i = 1; i <= 5; i++) await event(`old-${i}`, OLD + i);
    for (let i = 1; i <= 2; i++) await event(`recent-${i}`, RECENT + i);
    const sessions = {
      oldFinished: await session(OLD, 5),
      recentFinished: await session(RECENT, 2),
      running: await session(null, 3),
    };
    return { ids, sessions };
  }

  const remaining = async () => ({
    tasks: (await db().selectFrom('tasks').select('payload').orderBy('id').execute()).map(
      (row) => (JSON.parse(row.payload) as { name: string }).name,
    ),
    events: (await db().selectFrom('events').select('kind').orderBy('id').execute()).map((row) => row.kind),
    transcripts: (await db().selectFrom('session_events').select('session_id').orderBy('id').execute()).map(
      (row) => row.session_id,
    ),
    sessions: (await db().selectFrom('sessions').select('id').orderBy('id').execute()).map((row) => row.id),
  });

  it('deletes old finished tasks, events and transcripts in batches; keeps recent, unfinished and running-story rows', async () => {
    const { sessions } = await seed();
    const before = await remaining();
    expect(await pruneOldRows(db(), POLICY, { now: NOW, dryRun: true })).toEqual({
      tasks: 4,
      events: 5,
      transcripts: 5,
      sessions: 0,
      process_logs: 0,
      processes: 0,
    });
    expect(await remaining()).toEqual(before);

    expect(await pruneOldRows(db(), POLICY, { now: NOW })).toEqual({
      tasks: 4,
      events: 5,
      transcripts: 5,
      sessions: 0,
      process_logs: 0,
      processes: 0,
    });
    expect(await remaining()).toEqual({
      tasks: ['old, of a running story', 'recent completed', 'old pending', 'old in progress'],
      events: ['recent-1', 'recent-2'],
      transcripts: [
        sessions.recentFinished,
        sessions.recentFinished,
        sessions.running,
        sessions.running,
        sessions.running,
      ],
      sessions: [sessions.oldFinished, sessions.recentFinished, sessions.running],
    });
    // A second pass finds nothing more.
    expect(await pruneOldRows(db(), POLICY, { now: NOW })).toEqual({
      tasks: 0,
      events: 0,
      transcripts: 0,
      sessions: 0,
      process_logs: 0,
      processes: 0,
    });
  });

  it('process_logs_days deletes old process log lines and the rows of processes gone that long; 0 keeps them', async () => {
    const line = (message: string, at: number) => ({
      process_id: 'p-1',
      service: 'agent:builder',
      host: 'h',
      pid: 1,
      role: 'builder',
      component: null,
      level: 40,
      message,
      data: null,
      created_at: at,
    });
    await db()
      .insertInto('process_logs')
      .values([line('old-1', OLD), line('old-2', OLD), line('old-3', OLD), line('recent', RECENT)])
      .execute();
    const proc = (id: string, heartbeat: number, stopped: number | null) => ({
      process_id: id,
      host: 'h',
      pid: 1,
      roles: 'builder',
      started_at: OLD,
      heartbeat_at: heartbeat,
      stopped_at: stopped,
    });
    await db()
      .insertInto('agent_processes')
      .values([proc('stopped-long-ago', OLD, OLD), proc('killed-long-ago', OLD, null), proc('alive', NOW, null)])
      .execute();
    const keep = { ...POLICY, finished_tasks_days: 0, events_days: 0, transcripts_days: 0, process_logs_days: 0 };
    expect(await pruneOldRows(db(), keep, { now: NOW })).toMatchObject({ process_logs: 0, processes: 0 });
    expect(await pruneOldRows(db(), POLICY, { now: NOW, dryRun: true })).toMatchObject({
      process_logs: 3,
      processes: 2,
    });
    expect(await pruneOldRows(db(), POLICY, { now: NOW })).toMatchObject({ process_logs: 3, processes: 2 });
    const lines = await db().selectFrom('process_logs').select('message').execute();
    expect(lines.map((l) => l.message)).toEqual(['recent']);
    const processes = await db().selectFrom('agent_processes').select('process_id').execute();
    expect(processes.map((p) => p.process_id)).toEqual(['alive']);
  });

  it('sessions_days deletes the session rows (their transcripts first); 0 days keeps everything', async () => {
    const { sessions } = await seed();
    const keepAll = { ...POLICY, finished_tasks_days: 0, events_days: 0, transcripts_days: 0 };
    expect(await pruneOldRows(db(), keepAll, { now: NOW })).toEqual({
      tasks: 0,
      events: 0,
      transcripts: 0,
      sessions: 0,
      process_logs: 0,
      processes: 0,
    });
    expect(await pruneOldRows(db(), { ...keepAll, sessions_days: 60 }, { now: NOW })).toEqual({
      tasks: 0,
      events: 0,
      transcripts: 5,
      sessions: 1,
      process_logs: 0,
      processes: 0,
    });
    expect((await remaining()).sessions).toEqual([sessions.recentFinished, sessions.running]);
  });

  it('a change-log follower reads on after old events are deleted: nothing missed, nothing repeated', async () => {
    for (let i = 1; i <= 5; i++) await event(`old-${i}`, OLD + i);
    expect(await readUntil(START_OF_LOG, 'old-5')).toEqual(['old-1', 'old-2', 'old-3', 'old-4', 'old-5']);
    const firstTwo = await readEvents(t.handle, START_OF_LOG, 2);
    expect(firstTwo.rows.map((row) => row.kind)).toEqual(['old-1', 'old-2']);
    const secondId = firstTwo.rows[1]!.id;
    for (let i = 1; i <= 2; i++) await event(`recent-${i}`, RECENT + i);

    await pruneOldRows(db(), POLICY, { now: NOW });
    await event('after-prune', NOW);
    // The cursor of a follower that read two old events, and a client resuming by the id of a deleted one.
    expect(await readUntil(firstTwo.cursor, 'after-prune')).toEqual(['recent-1', 'recent-2', 'after-prune']);
    expect(await readUntil(await eventCursorAfter(t.handle, secondId), 'after-prune')).toEqual([
      'recent-1',
      'recent-2',
      'after-prune',
    ]);
  });

  it('two schedulers at one retention slot: one prunes (and says so in an event), the other does nothing', async () => {
    await seed();
    const settings = { ...SettingsSchema.parse({}).retention, batch_size: 2 };
    const logger = createLogger({ level: 'silent', pretty: false });
    const runners = ['scheduler-a', 'scheduler-b'].map(
      (firedBy) => new RetentionRunner({ handle: t.handle, settings, firedBy, logger, clock: () => NOW }),
    );
    const slot = NOW - (NOW % 60_000);
    const outcomes = await Promise.all(runners.map((runner) => runner.runSlot(slot)));
    expect(outcomes.filter((o) => o.ran)).toEqual([
      { ran: true, counts: { tasks: 4, events: 5, transcripts: 5, sessions: 0, process_logs: 0, processes: 0 } },
    ]);
    const runs = await db().selectFrom('schedule_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ schedule_name: 'retention', slot_at: slot });
    const pruned = await db().selectFrom('events').selectAll().where('kind', '=', 'retention.pruned').execute();
    expect(pruned).toHaveLength(1);
    expect(JSON.parse(pruned[0]!.data)).toMatchObject({
      slot_at: slot,
      fired_by: runs[0]!.fired_by,
      tasks: 4,
      events: 5,
    });
    // The slot is taken: a third try at it does nothing.
    expect(await runners[0]!.runSlot(slot)).toEqual({ ran: false });
  });

  it("autodev db prune --dry-run counts, autodev db prune deletes, both with the settings' day counts", async () => {
    await seed();
    const dry = await runCliInProcessOn(t, ['db', 'prune', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dry_run: true,
      deleted: { tasks: 4, events: 5, transcripts: 5, sessions: 0, process_logs: 0, processes: 0 },
    });
    expect((await remaining()).events).toHaveLength(7);
    const keepEvents = path.join(t.dir, 'keep-events.yaml');
    fs.writeFileSync(keepEvents, 'retention:\n  events_days: 0\n');
    const real = await runCliInProcessOn(t, ['--config', keepEvents, 'db', 'prune']);
    expect(real).toMatchObject({ code: 0, stderr: '' });
    expect(real.stdout).toMatch(
      /^deleted 4 finished task\(s\), 0 event\(s\), 5 transcript event\(s\), 0 session\(s\), 0 process log line\(s\), 0 gone process\(es\) from /,
    );
    expect((await remaining()).events).toHaveLength(7);
    const badFile = path.join(t.dir, 'bad-retention.yaml');
    fs.writeFileSync(badFile, 'retention:\n  events_days: -1\n');
    const bad = await runCliInProcessOn(t, ['--config', badFile, 'db', 'prune']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/retention\.events_days/);
  });
});
