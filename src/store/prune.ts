/**
 * @module Retention: deletes what is older than the policy's day counts, in batches of `batch_size` rows per
 * statement (each its own short transaction, so no table is held for long and writers go on between batches).
 * Deleted, not archived: the counts are returned (and logged by the caller); export first with your own tools if
 * you must keep them. What goes:
 * - tasks `completed`/`failed`/`cancelled` whose `finished_at` is older than `finished_tasks_days`, unless their
 *   story is still running or waiting for a human (its state names them);
 * - events older than `events_days` (a change-log follower's cursor stays valid: it reads rows after it, and a
 *   deleted older row is one it already read or never will);
 * - session events (transcripts) of sessions that ended longer than `transcripts_days` ago, and with
 *   `sessions_days` the session rows themselves (their transcripts first);
 * - process log lines (`autodev logs`) older than `process_logs_days`, and the rows of agent processes that stopped
 *   (or last beat) that long ago.
 * A day count of 0 keeps those rows for ever. `dryRun` counts instead of deleting.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface RetentionPolicy {
  finished_tasks_days: number;
  events_days: number;
  transcripts_days: number;
  sessions_days: number;
  process_logs_days: number;
  batch_size: number;
}

export interface PruneCounts {
  tasks: number;
  events: number;
  transcripts: number;
  sessions: number;
  process_logs: number;
  processes: number;
}

export interface PruneOptions {
  now: number;
  dryRun?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const FINISHED_TASK = ['completed', 'failed', 'cancelled'] as const;
const LIVE_WORKFLOW = ['running', 'waiting_for_human'] as const;

function cutoffOf(days: number, now: number): number | undefined {
  return days > 0 ? now - days * DAY_MS : undefined;
}

export async function pruneOldRows(
  db: Kysely<Database>,
  policy: RetentionPolicy,
  options: PruneOptions,
): Promise<PruneCounts> {
  const counts: PruneCounts = { tasks: 0, events: 0, transcripts: 0, sessions: 0, process_logs: 0, processes: 0 };
  const dry = options.dryRun === true;
  const batch = policy.batch_size;

  const taskCutoff = cutoffOf(policy.finished_tasks_days, options.now);
  if (taskCutoff !== undefined) {
    const oldTasks = db
      .selectFrom('tasks')
      .select('tasks.id')
      .where('tasks.status', 'in', FINISHED_TASK)
      .where('tasks.finished_at', '<', taskCutoff)
      .where((eb) =>
        eb.or([
          eb('tasks.workflow_id', 'is', null),
          eb.not(
            eb.exists(
              eb
                .selectFrom('workflows')
                .select('workflows.id')
                .whereRef('workflows.id', '=', 'tasks.workflow_id')
                .where('workflows.status', 'in', LIVE_WORKFLOW),
            ),
          ),
        ]),
      );
    counts.tasks = dry
      ? await countOf(db, oldTasks)
      : await deleteInBatches(batch, (limit) =>
          db.deleteFrom('tasks').where('id', 'in', oldTasks.orderBy('tasks.id').limit(limit)).executeTakeFirst(),
        );
  }

  const eventCutoff = cutoffOf(policy.events_days, options.now);
  if (eventCutoff !== undefined) {
    const oldEvents = db.selectFrom('events').select('events.id').where('events.created_at', '<', eventCutoff);
    counts.events = dry
      ? await countOf(db, oldEvents)
      : await deleteInBatches(batch, (limit) =>
          db
            .deleteFrom('events')
            // In id order: the old rows are the low ids, so each batch reads the primary key from its start.
            .where('id', 'in', oldEvents.orderBy('events.id').limit(limit))
            .executeTakeFirst(),
        );
  }

  // Transcripts go with their sessions too, so the later of the two cutoffs applies to them.
  const sessionCutoff = cutoffOf(policy.sessions_days, options.now);
  const transcriptCutoff = [cutoffOf(policy.transcripts_days, options.now), sessionCutoff]
    .filter((cutoff): cutoff is number => cutoff !== undefined)
    .reduce<number | undefined>((a, b) => (a === undefined ? b : Math.max(a, b)), undefined);
  if (transcriptCutoff !== undefined) {
    const endedSessions = db
      .selectFrom('sessions')
      .select('sessions.id')
      .where('sessions.finished_at', 'is not', null)
      .where('sessions.finished_at', '<', transcriptCutoff);
    const oldTranscriptRows = db
      .selectFrom('session_events')
      .select('session_events.id')
      .where('session_events.session_id', 'in', endedSessions);
    counts.transcripts = dry
      ? await countOf(db, oldTranscriptRows)
      : await deleteInBatches(batch, (limit) =>
          db
            .deleteFrom('session_events')
            .where('id', 'in', oldTranscriptRows.orderBy('session_events.id').limit(limit))
            .executeTakeFirst(),
        );
  }
  if (sessionCutoff !== undefined) {
    const oldSessions = db
      .selectFrom('sessions')
      .select('sessions.id')
      .where('sessions.finished_at', 'is not', null)
      .where('sessions.finished_at', '<', sessionCutoff);
    counts.sessions = dry
      ? await countOf(db, oldSessions)
      : await deleteInBatches(batch, (limit) =>
          db
            .deleteFrom('sessions')
            .where('id', 'in', oldSessions.orderBy('sessions.id').limit(limit))
            .executeTakeFirst(),
        );
  }

  const logCutoff = cutoffOf(policy.process_logs_days, options.now);
  if (logCutoff !== undefined) {
    const oldLines = db
      .selectFrom('process_logs')
      .select('process_logs.id')
      .where('process_logs.created_at', '<', logCutoff);
    counts.process_logs = dry
      ? await countOf(db, oldLines)
      : await deleteInBatches(batch, (limit) =>
          db
            .deleteFrom('process_logs')
            .where('id', 'in', oldLines.orderBy('process_logs.id').limit(limit))
            .executeTakeFirst(),
        );
    // A process gone that long ago: stopped, or silent (killed) since its last heartbeat.
    const goneProcesses = db
      .selectFrom('agent_processes')
      .select('agent_processes.process_id')
      .where('agent_processes.heartbeat_at', '<', logCutoff);
    counts.processes = dry
      ? await countOf(db, goneProcesses)
      : await deleteInBatches(batch, (limit) =>
          db
            .deleteFrom('agent_processes')
            .where('process_id', 'in', goneProcesses.orderBy('agent_processes.process_id').limit(limit))
            .executeTakeFirst(),
        );
  }
  return counts;
}

async function deleteInBatches(
  batch: number,
  deleteSome: (limit: number) => Promise<{ numDeletedRows: bigint }>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = Number((await deleteSome(batch)).numDeletedRows);
    total += deleted;
    if (deleted < batch) return total;
  }
}

async function countOf(
  db: Kysely<Database>,
  ids: { as: (alias: 'picked') => Parameters<Kysely<Database>['selectFrom']>[0] },
): Promise<number> {
  const row = await db
    .selectFrom(ids.as('picked') as never)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number((row as { n: number | string }).n);
}
