/**
 * @module The queue's hot path on PostgreSQL as two fixed, prepared statements (store/prepared-statements.ts):
 * - `WORKER_STEPS_SQL`: a batch of worker steps in one statement and one commit. A step is "claim my next task" or
 *   "complete my task and claim my next": the held tasks are completed (each only under its worker's lease), and as
 *   many ready tasks are claimed as there are steps still wanting one, each leased to its own worker. The batch comes
 *   from worker-step-batcher.ts: the steps of one process's workers that were waiting while the previous statement
 *   ran. One step is a batch of one.
 * - `COMPLETE_SQL`: one completion, for a completion inside the caller's transaction (the handler's own writes).
 * Each is one data-modifying WITH: task changes and their `events` rows together, atomic on their own or inside the
 * caller's transaction. The texts never vary (steps and types are array parameters), so each connection parses and
 * plans them once; graphile-worker prepares its statements too.
 *
 * The status literals (`'pending'`, `'in_progress'`) are written into the text, not bound: the partial indexes
 * (`tasks_ready_idx where status = 'pending'`, `tasks_lease_idx where status = 'in_progress'`) then match generic
 * plans as well. The returned columns are listed, not `*`: a prepared statement whose result shape changes (a later
 * migration adding a column) would fail with "cached plan must not change result type".
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { preparedMarker } from '../store/prepared-statements.js';
import type { Database, TaskRow } from '../store/schema.js';
import { toTask, type Task } from './task-record.js';

const TASK_COLUMNS = [
  'id',
  'type',
  'status',
  'priority',
  'payload',
  'result',
  'error',
  'attempts',
  'max_attempts',
  'run_after',
  'lease_owner',
  'lease_expires_at',
  'parent_id',
  'workflow_id',
  'repo_id',
  'created_by',
  'created_at',
  'updated_at',
  'started_at',
  'finished_at',
  'dedupe_key',
] as const satisfies readonly (keyof TaskRow)[];

// Compile-time: every column of the row type is returned (a new column must be added above).
type Unlisted = Exclude<keyof TaskRow, (typeof TASK_COLUMNS)[number]>;
const everyColumnListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyColumnListed;

const claimedColumns = TASK_COLUMNS.map((c) => `claimed.${c}`).join(', ');
const returnedColumns = TASK_COLUMNS.map((c) => `t.${c}`).join(', ');

/**
 * $1 task ids (bigint[], null: the step only claims), $2 worker ids (text[]), $3 result JSON texts (text[], null
 * for claim-only steps), $4 now, $5 types (text[]), $6 the new leases' expiry. One row per step: its position
 * `step` (from 1), `completed` (true for claim-only steps) and the task claimed for it (null columns when none was
 * ready). The rows are not sorted (no sort node in the plan); the caller puts them in step order.
 *
 * - `step`: the arrays as rows, numbered by position.
 * - `completed`, `completed_event`: each held task completed only while its worker still holds it; a step whose lease
 *   is lost completes nothing and claims nothing (its caller raises LEASE_LOST), without touching the other steps.
 * - `claimant`: the steps that get a claim (claim-only steps, and completions that happened), numbered.
 * - `next`: that many ready rows in claim order through `tasks_ready_idx`, locked with SKIP LOCKED (concurrent
 *   claimers pass over each other's rows); `numbered` numbers them. Which claimant gets which row does not matter:
 *   all claim the same types.
 * - `claimed`, `claimed_event`: row n leased to claimant n, and its `task.claimed` event.
 */
export const WORKER_STEPS_SQL = `${preparedMarker('worker_steps')}
with step as (
  select * from unnest($1::bigint[], $2::text[], $3::text[]) with ordinality as s(task_id, worker_id, result, ord)
), completed as (
  update tasks t
  set status = 'completed', result = step.result, error = null, lease_owner = null, lease_expires_at = null,
      finished_at = $4, updated_at = $4
  from step
  where t.id = step.task_id and t.lease_owner = step.worker_id and t.status = 'in_progress'
  returning step.ord, t.id, step.worker_id
), completed_event as (
  insert into events (kind, subject_type, subject_id, actor, data, created_at)
  select 'task.completed', 'task', completed.id::text, completed.worker_id, '{"status":"completed"}', $4
  from completed
), claimant as (
  select step.ord, step.worker_id, row_number() over () as n
  from step
  where step.task_id is null or step.ord in (select ord from completed)
), next as (
  select id from tasks
  where status = 'pending' and run_after <= $4 and type = any($5::text[])
  order by priority desc, run_after, id
  limit (select count(*) from claimant)
  for update skip locked
), numbered as (
  select id, row_number() over () as n from next
), claimed as (
  update tasks t
  set status = 'in_progress', lease_owner = claimant.worker_id, lease_expires_at = $6, attempts = t.attempts + 1,
      started_at = coalesce(t.started_at, $4), updated_at = $4
  from numbered join claimant on claimant.n = numbered.n
  where t.id = numbered.id
  returning claimant.ord as step_ord, ${returnedColumns}
), claimed_event as (
  insert into events (kind, subject_type, subject_id, actor, data, created_at)
  select 'task.claimed', 'task', claimed.id::text, claimed.lease_owner,
         json_build_object('type', claimed.type, 'attempt', claimed.attempts, 'status', 'in_progress')::text, $4
  from claimed
)
select step.ord::int as step, step.task_id is null or completed.id is not null as completed, ${claimedColumns}
from step
left join completed on completed.ord = step.ord
left join claimed on claimed.step_ord = step.ord`;

/** One worker's step: claim a task of the batch's types, after completing `taskId` if given. */
export interface WorkerStep {
  workerId: string;
  /** The task this worker holds and completes with `result` (JSON text) before claiming. */
  completes?: { taskId: number; result: string };
}

export interface WorkerStepOutcome {
  /** False when the step's lease was lost: nothing was completed or claimed for it. */
  completed: boolean;
  next: Task | undefined;
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

/** Runs `steps` as one statement: all share `now`, the claimed types and the new leases' length. */
export async function runWorkerStepsOnPostgres(
  db: Kysely<Database>,
  steps: readonly WorkerStep[],
  batch: { types: readonly string[]; now: number; leaseMs: number },
): Promise<WorkerStepOutcome[]> {
  const { rows } = await db.executeQuery<Nullable<TaskRow> & { step: number; completed: boolean }>(
    CompiledQuery.raw(WORKER_STEPS_SQL, [
      steps.map((s) => s.completes?.taskId ?? null),
      steps.map((s) => s.workerId),
      steps.map((s) => s.completes?.result ?? null),
      batch.now,
      [...batch.types],
      batch.now + batch.leaseMs,
    ]),
  );
  // One row per step: `step` is a left join's left side, and each step matches at most one completed and one
  // claimed row.
  const outcomes = new Array<WorkerStepOutcome>(steps.length);
  for (const { step, completed, ...row } of rows) {
    outcomes[step - 1] = { completed, next: row.id === null ? undefined : toTask(row as TaskRow) };
  }
  return outcomes;
}

/** $1 result JSON, $2 now, $3 task id, $4 worker id. Changes the row only while this worker holds its lease. */
export const COMPLETE_SQL = `${preparedMarker('complete_task')}
with completed as (
  update tasks
  set status = 'completed', result = $1, error = null, lease_owner = null, lease_expires_at = null,
      finished_at = $2, updated_at = $2
  where id = $3 and lease_owner = $4 and status = 'in_progress'
  returning id
), completed_event as (
  insert into events (kind, subject_type, subject_id, actor, data, created_at)
  select 'task.completed', 'task', completed.id::text, $4, '{"status":"completed"}', $2
  from completed
)
select id from completed`;

/** True when the task was completed; false when this worker no longer holds it (the caller raises LEASE_LOST). */
export async function completeOnPostgres(
  db: Kysely<Database>,
  completion: { taskId: number; workerId: string; result: string; now: number },
): Promise<boolean> {
  const { rows } = await db.executeQuery<{ id: number }>(
    CompiledQuery.raw(COMPLETE_SQL, [completion.result, completion.now, completion.taskId, completion.workerId]),
  );
  return rows.length === 1;
}
