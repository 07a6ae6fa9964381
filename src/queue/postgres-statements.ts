/**
 * @module The queue's hot path on PostgreSQL as two fixed, prepared statements (store/prepared-statements.ts): the
 * claim and the completion. Each is one data-modifying WITH: the task's change and its `events` row in one round
 * trip and one commit, atomic on its own or inside the caller's transaction. The texts never vary (the type set is
 * one array parameter), so each connection parses and plans them once; graphile-worker prepares its statements too.
 *
 * The status literals (`'pending'`, `'in_progress'`) are written into the text, not bound: the partial indexes
 * (`tasks_ready_idx where status = 'pending'`, `tasks_lease_idx where status = 'in_progress'`) then match generic
 * plans as well. The returned columns are listed, not `*`: a prepared statement whose result shape changes (a later
 * migration adding a column) would fail with "cached plan must not change result type".
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { preparedMarker } from '../store/prepared-statements.js';
import type { Database, TaskRow } from '../store/schema.js';

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
] as const satisfies readonly (keyof TaskRow)[];

// Compile-time: every column of the row type is returned (a new column must be added above).
type Unlisted = Exclude<keyof TaskRow, (typeof TASK_COLUMNS)[number]>;
const everyColumnListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyColumnListed;

const claimedColumns = TASK_COLUMNS.map((c) => `t.${c}`).join(', ');

/** The parameters a statement's CTEs refer to, as placeholders (`$1`...). */
interface ClaimParams {
  now: string;
  types: string;
  workerId: string;
  leaseExpiry: string;
  /** An extra condition on the ready row (the combined statement claims only after its completion). */
  onlyIf?: string;
}

/**
 * `next`, `claimed`, `claimed_event`: the ready row found through `tasks_ready_idx` in order and locked with SKIP
 * LOCKED (concurrent claimers pass over each other's rows), leased to the worker, and its `task.claimed` event.
 */
function claimCtes(p: ClaimParams): string {
  return `next as (
  select id from tasks
  where status = 'pending' and run_after <= ${p.now} and type = any(${p.types}::text[])${p.onlyIf ? ` and ${p.onlyIf}` : ''}
  order by priority desc, run_after, id
  limit 1
  for update skip locked
), claimed as (
  update tasks t
  set status = 'in_progress', lease_owner = ${p.workerId}, lease_expires_at = ${p.leaseExpiry}, attempts = t.attempts + 1,
      started_at = coalesce(t.started_at, ${p.now}), updated_at = ${p.now}
  from next
  where t.id = next.id
  returning ${claimedColumns}
), claimed_event as (
  insert into events (kind, subject_type, subject_id, actor, data, created_at)
  select 'task.claimed', 'task', claimed.id::text, ${p.workerId},
         json_build_object('type', claimed.type, 'attempt', claimed.attempts, 'status', 'in_progress')::text, ${p.now}
  from claimed
)`;
}

/** `completed`, `completed_event`: the held task completed (only under this worker's lease) and its event. */
function completeCtes(p: { result: string; now: string; taskId: string; workerId: string }): string {
  return `completed as (
  update tasks
  set status = 'completed', result = ${p.result}, error = null, lease_owner = null, lease_expires_at = null,
      finished_at = ${p.now}, updated_at = ${p.now}
  where id = ${p.taskId} and lease_owner = ${p.workerId} and status = 'in_progress'
  returning id
), completed_event as (
  insert into events (kind, subject_type, subject_id, actor, data, created_at)
  select 'task.completed', 'task', completed.id::text, ${p.workerId}, '{"status":"completed"}', ${p.now}
  from completed
)`;
}

/** $1 now, $2 types (text[]), $3 worker id, $4 lease expiry. */
export const CLAIM_SQL = `${preparedMarker('claim_task')}
with ${claimCtes({ now: '$1', types: '$2', workerId: '$3', leaseExpiry: '$4' })}
select * from claimed`;

export async function claimOnPostgres(
  db: Kysely<Database>,
  claim: { workerId: string; types: readonly string[]; leaseMs: number; now: number },
): Promise<TaskRow | undefined> {
  const { rows } = await db.executeQuery<TaskRow>(
    CompiledQuery.raw(CLAIM_SQL, [claim.now, [...claim.types], claim.workerId, claim.now + claim.leaseMs]),
  );
  return rows[0];
}

/** $1 result JSON, $2 now, $3 task id, $4 worker id. Changes the row only while this worker holds its lease. */
export const COMPLETE_SQL = `${preparedMarker('complete_task')}
with ${completeCtes({ result: '$1', now: '$2', taskId: '$3', workerId: '$4' })}
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

/**
 * The completion and the next claim in one statement and one commit: $1 result JSON, $2 now, $3 task id, $4 worker
 * id, $5 types (text[]), $6 the new lease's expiry. The claim runs only if the completion did (`exists (select 1
 * from completed)`). No row: the lease was lost and nothing changed; a row with a null `id`: completed, nothing ready.
 */
export const COMPLETE_AND_CLAIM_SQL = `${preparedMarker('complete_and_claim_task')}
with ${completeCtes({ result: '$1', now: '$2', taskId: '$3', workerId: '$4' })}, ${claimCtes({
  now: '$2',
  types: '$5',
  workerId: '$4',
  leaseExpiry: '$6',
  onlyIf: 'exists (select 1 from completed)',
})}
select claimed.* from completed left join claimed on true`;

type Nullable<T> = { [K in keyof T]: T[K] | null };

/** `completed: false` when this worker no longer holds the task (nothing changed, nothing claimed). */
export async function completeAndClaimOnPostgres(
  db: Kysely<Database>,
  step: { taskId: number; workerId: string; result: string; now: number; types: readonly string[]; leaseMs: number },
): Promise<{ completed: boolean; next: TaskRow | undefined }> {
  const { rows } = await db.executeQuery<Nullable<TaskRow>>(
    CompiledQuery.raw(COMPLETE_AND_CLAIM_SQL, [
      step.result,
      step.now,
      step.taskId,
      step.workerId,
      [...step.types],
      step.now + step.leaseMs,
    ]),
  );
  const row = rows[0];
  if (!row) return { completed: false, next: undefined };
  return { completed: true, next: row.id === null ? undefined : (row as TaskRow) };
}
